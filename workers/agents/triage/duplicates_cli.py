"""`hookwise triage duplicates-eval` (registered on the triage sub-app by `register`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer


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
) -> None:
    """Rank all other issues for each known duplicate and print Recall@1, @10 and @5 (last)."""
    # Imported here: the `hookwise` CLI loads every sub-app at start and numpy/sklearn are slow.
    from workers.agents.triage.duplicates import DuplicateIndex
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
    if dense:
        from workers.agents.triage.duplicates.dense import MiniLMEncoder

        try:
            index = DuplicateIndex(encoder=MiniLMEncoder())
        except ImportError as error:
            raise typer.BadParameter(str(error), param_hint="--dense") from error
    else:
        index = DuplicateIndex()
    index.add_many(by_id.values())
    prior = index.default_prior
    ranks = [scores.rank(prior) for scores in pair_scores(index, by_id, evaluated)]
    recall = recall_at(ranks, (1, 5, 10))
    typer.echo(f"issues: {len(index)}")
    typer.echo(f"pairs: {len(evaluated)} of {len(known_pairs)} usable")
    typer.echo(f"recall@1: {recall[1]:.3f}")
    typer.echo(f"recall@10: {recall[10]:.3f}")
    typer.echo(f"recall@5: {recall[5]:.3f}")


def register(app: typer.Typer) -> None:
    """Add the duplicate-detection commands to `app`."""
    app.command("duplicates-eval")(duplicates_eval)
