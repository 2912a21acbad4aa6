"""`hookwise triage duplicates-eval` (registered on the triage sub-app by `register`)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from workers.agents.triage.duplicates import DuplicateIndex


def duplicates_eval(
    issues: Annotated[
        Path,
        typer.Option(
            "--issues",
            exists=True,
            dir_okay=False,
            help="Issues: CSV or JSON Lines with id, title, body (created_at optional).",
        ),
    ],
    pairs: Annotated[
        Path,
        typer.Option(
            "--pairs",
            exists=True,
            dir_okay=False,
            help="Known duplicates: CSV or JSON Lines with id, duplicate_id.",
        ),
    ],
    dense: Annotated[
        bool,
        typer.Option(
            "--dense",
            help="Fuse all-MiniLM-L6-v2 sentence embeddings (needs the `dense` extra).",
        ),
    ] = False,
    encoder_dir: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            file_okay=False,
            help="Fuse the embeddings of the encoder in this directory instead (e.g. one written "
            "by `hookwise triage export-encoder`, which runs without torch).",
        ),
    ] = None,
) -> None:
    """Rank all other issues for each known duplicate and print Recall@1, @10 and @5 (last)."""
    # Imported here: the `hookwise` CLI loads every sub-app at start and numpy/sklearn are slow.
    from workers.agents.triage.duplicates.evaluation import (
        pair_scores,
        recall_at,
        usable_pairs,
    )
    from workers.agents.triage.duplicates.files import IssueFileError, read_issues, read_pairs

    try:
        issue_records = read_issues(issues)
        known_pairs = read_pairs(pairs)
    except IssueFileError as error:
        raise typer.BadParameter(str(error)) from error
    by_id = {issue.id: issue for issue in issue_records}
    evaluated = usable_pairs(known_pairs, set(by_id))
    if not evaluated:
        raise typer.BadParameter("no pair has both issues in the issues file", param_hint="--pairs")
    index = _index(dense=dense, encoder_dir=encoder_dir)
    index.add_many(by_id.values())
    prior = index.default_prior
    ranks = [scores.rank(prior) for scores in pair_scores(index, by_id, evaluated)]
    recall = recall_at(ranks, (1, 5, 10))
    typer.echo(f"issues: {len(index)}")
    typer.echo(f"pairs: {len(evaluated)} of {len(known_pairs)} usable")
    typer.echo(f"recall@1: {recall[1]:.3f}")
    typer.echo(f"recall@10: {recall[10]:.3f}")
    typer.echo(f"recall@5: {recall[5]:.3f}")


def _index(*, dense: bool, encoder_dir: Path | None) -> DuplicateIndex:
    """A lexical index, or one fusing sentence embeddings; a missing extra is a usage error."""
    from workers.agents.triage.duplicates import DuplicateIndex

    if not dense and encoder_dir is None:
        return DuplicateIndex()
    from workers.agents.triage.issue_type.onnx_encoder import encoder_in

    try:
        return DuplicateIndex(encoder=encoder_in(encoder_dir))
    except ImportError as error:
        hint = "--dense" if encoder_dir is None else "--encoder-dir"
        raise typer.BadParameter(str(error), param_hint=hint) from error


def register(app: typer.Typer) -> None:
    """Add the duplicate-detection commands to `app`."""
    app.command("duplicates-eval")(duplicates_eval)
