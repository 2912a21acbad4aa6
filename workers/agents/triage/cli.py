"""`hookwise triage …` commands.

Heavy libraries (scikit-learn, numpy) are imported inside the commands: the `hookwise` CLI imports
every sub-app module at start.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import orjson
import typer

if TYPE_CHECKING:
    from workers.agents.triage.issue_type.embeddings import CachedEncoder
    from workers.agents.triage.issue_type.labels import TypeLabels
    from workers.agents.triage.issue_type.model import LabelledIssue

triage_app = typer.Typer(
    help="The triage core on files of issues (CSV or JSON Lines).", no_args_is_help=True
)

_ExistingFile = Annotated[Path, typer.Option(exists=True, dir_okay=False, readable=True)]
_Embeddings = Annotated[
    bool,
    typer.Option(
        "--embeddings",
        help="Fuse all-MiniLM-L6-v2 sentence embeddings in (needs the `dense` extra).",
    ),
]
_EncoderDir = Annotated[
    Path | None,
    typer.Option(
        exists=True,
        file_okay=False,
        help="Embed with the encoder in this directory instead: one written by "
        "`hookwise triage export-encoder`, or a saved sentence-transformers model.",
    ),
]


def _encoder(embeddings: bool, directory: Path | None) -> CachedEncoder | None:
    """The sentence encoder asked for, or None; a missing extra is a usage error."""
    if not embeddings and directory is None:
        return None
    from workers.agents.triage.issue_type.embeddings import with_shipped_vectors
    from workers.agents.triage.issue_type.onnx_encoder import encoder_in

    try:
        return with_shipped_vectors(encoder_in(directory))
    except ImportError as error:
        raise typer.BadParameter(str(error), param_hint="--embeddings") from error


def _type_labels(names: str | None, mapping: list[str], found: set[str]) -> TypeLabels:
    """Labels from `--labels a,b,c` (default: those found in the file) and `--map name=type`;
    a configuration that cannot make a classifier is a usage error."""
    from workers.agents.triage.issue_type.labels import LabelConfigError, TypeLabels

    chosen = [n.strip() for n in names.split(",") if n.strip()] if names else sorted(found)
    canonical: dict[str, str] = {}
    for item in mapping:
        name, sep, kind = item.partition("=")
        if not sep:
            raise typer.BadParameter(f"expected LABEL=TYPE, got {item!r}", param_hint="--map")
        canonical[name.strip()] = kind.strip()
    try:
        # Without --map, labels named like a canonical type map to it.
        return TypeLabels.of(chosen, canonical or None)
    except LabelConfigError as error:
        given = [option for option, value in (("--labels", names), ("--map", mapping)) if value]
        source = "/".join(given) if given else f"the labels found in the file ({chosen})"
        raise typer.BadParameter(str(error), param_hint=source) from error


def _read_issues(path: Path, *, require_label: bool = True) -> list[LabelledIssue]:
    """The file's issues; a malformed file is a usage error, not a traceback."""
    from workers.agents.triage.duplicates.files import IssueFileError
    from workers.agents.triage.issue_type.files import read_labelled_issues

    try:
        return read_labelled_issues(path, require_label=require_label)
    except IssueFileError as error:
        raise typer.BadParameter(str(error)) from error


def _print_json(value: object) -> None:
    typer.echo(orjson.dumps(value, option=orjson.OPT_INDENT_2).decode())


@triage_app.command("eval")
def eval_command(
    train: _ExistingFile,
    test: _ExistingFile,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable figures.")] = False,
    own_only: Annotated[
        bool,
        typer.Option(help="Train each repository on its own issues only, without the others'."),
    ] = False,
    embeddings: _Embeddings = False,
    encoder_dir: _EncoderDir = None,
) -> None:
    """Train one type model per repository (column `repo`) and score it on the test file."""
    from workers.agents.triage.issue_type.evaluation import (
        evaluate_per_repository,
        format_report,
    )
    from workers.agents.triage.issue_type.files import by_repository
    from workers.agents.triage.issue_type.model import IssueDataError

    encoder = _encoder(embeddings, encoder_dir)
    train_issues = _read_issues(train)
    test_issues = _read_issues(test)
    labels = _type_labels(None, [], {label for i in train_issues for label in i.labels})
    try:
        report = evaluate_per_repository(
            by_repository(train_issues),
            by_repository(test_issues),
            labels=labels,
            cross_repo=not own_only,
            encoder=encoder,
        )
    except IssueDataError as error:
        raise typer.BadParameter(str(error), param_hint="--train/--test") from error
    if as_json:
        _print_json(report.as_json())
    else:
        typer.echo(format_report(report))


@triage_app.command("train")
def train_command(
    issues: _ExistingFile,
    out: Annotated[Path, typer.Option(dir_okay=False, help="Where to write the model (.npz).")],
    labels: Annotated[
        str | None, typer.Option(help="Type labels, comma-separated (default: all in the file).")
    ] = None,
    map_: Annotated[
        list[str] | None,
        typer.Option("--map", help="LABEL=TYPE, TYPE one of bug/feature/question; repeatable."),
    ] = None,
    background: Annotated[
        bool, typer.Option(help="Add the shipped NLBSE'24 corpus as down-weighted background.")
    ] = True,
    target_precision: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.9,
    embeddings: _Embeddings = False,
    encoder_dir: _EncoderDir = None,
) -> None:
    """Train one repository's type model from its labelled issues."""
    from workers.agents.triage.issue_type.model import (
        IssueDataError,
        TrainingSettings,
        train_type_model,
    )
    from workers.agents.triage.issue_type.prior import shipped_corpus
    from workers.agents.triage.issue_type.storage import save_model

    encoder = _encoder(embeddings, encoder_dir)
    labelled = _read_issues(issues)
    type_labels = _type_labels(labels, map_ or [], {label for i in labelled for label in i.labels})
    try:
        model = train_type_model(
            labelled,
            labels=type_labels,
            background=shipped_corpus() if background else (),
            settings=TrainingSettings(target_precision=target_precision),
            encoder=encoder,
        )
    except IssueDataError as error:
        raise typer.BadParameter(str(error), param_hint="--issues") from error
    save_model(model, out)
    summary = model.summary
    typer.echo(f"{summary.source} model for {', '.join(type_labels.names)} written to {out}")
    typer.echo(
        f"issues per label: {summary.issues_per_label}; background: {summary.background_issues}"
    )
    typer.echo(
        f"cross-validated macro F1 {summary.cv_macro_f1:.3f}; labels applied at confidence "
        f"≥ {summary.threshold.threshold:.2f} (precision {summary.threshold.precision:.2f}, "
        f"coverage {summary.threshold.coverage:.2f})"
    )


@triage_app.command("export-encoder")
def export_encoder_command(
    out: Annotated[Path, typer.Option(file_okay=False, help="Directory to write the encoder to.")],
    full_precision: Annotated[
        bool, typer.Option(help="Keep 32-bit weights instead of quantizing them to 8 bits.")
    ] = False,
) -> None:
    """Export all-MiniLM-L6-v2 to ONNX for `--encoder-dir`: predicting then needs no torch."""
    from workers.agents.triage.issue_type.onnx_encoder import export_minilm
    from workers.agents.triage.issue_type.prior import shipped_corpus

    try:
        encoder = export_minilm(out, quantize=not full_precision, corpus=shipped_corpus())
    except ImportError as error:
        raise typer.BadParameter(str(error), param_hint="export-encoder") from error
    typer.echo(f"{encoder.name} written to {out}")


@triage_app.command("predict")
def predict_command(
    model: _ExistingFile,
    issues: _ExistingFile,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    encoder_dir: _EncoderDir = None,
) -> None:
    """Predict the type of each issue of the file; with a `label` column, also score them.
    A model trained with embeddings loads its encoder (from `--encoder-dir` if it was trained
    with one)."""
    from workers.agents.triage.issue_type.evaluation import (
        EvaluationReport,
        evaluate_model,
        format_report,
        true_label,
    )
    from workers.agents.triage.issue_type.storage import ModelFormatError, load_model

    try:
        type_model = load_model(model)
    except ModelFormatError as error:
        raise typer.BadParameter(str(error), param_hint="--model") from error
    if type_model.dense is not None:
        encoder = _encoder(True, encoder_dir)
        try:
            type_model = type_model.with_encoder(encoder) if encoder is not None else type_model
        except ValueError as error:
            raise typer.BadParameter(str(error), param_hint="--encoder-dir") from error
    to_predict = _read_issues(issues, require_label=False)
    predictions = type_model.predict(to_predict)
    labelled = [i for i in to_predict if true_label(i, type_model.labels) is not None]
    report = EvaluationReport([evaluate_model(type_model, labelled)]) if labelled else None
    if as_json:
        result: dict[str, object] = {
            "predictions": [
                {
                    "title": issue.title,
                    "label": p.label,
                    "confidence": p.confidence,
                    "probabilities": p.probabilities,
                    "decision": p.decision,
                    "source": p.source,
                }
                for issue, p in zip(to_predict, predictions, strict=True)
            ]
        }
        if report is not None:
            result["evaluation"] = report.as_json()
        _print_json(result)
        return
    for issue, prediction in zip(to_predict, predictions, strict=True):
        typer.echo(f"{prediction.note}: {issue.title[:80]}")
    if report is not None:
        typer.echo(format_report(report))


def _register_subcommands() -> None:
    from workers.agents.triage import duplicates_cli

    duplicates_cli.register(triage_app)


_register_subcommands()
