"""Check runs: one per (head sha, name), created or brought up to date.

GitHub takes at most 50 annotations per request and *appends* the annotations of every update, so
a run is created with the first 50 and the rest follow in PATCHes of 50; a re-run sends only the
annotations GitHub does not have yet (which also finishes a run whose earlier attempt died midway).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from github.CheckRun import CheckRun as GitHubCheckRun
from github.Commit import Commit

from workers.agents.base import Annotation, CheckRun
from workers.github.client import github_errors
from workers.github.publishing.destination import Destination

ANNOTATIONS_PER_REQUEST = 50  # GitHub's limit for one create or update
MAX_OUTPUT_CHARS = 65_535  # GitHub's limit for output.summary and output.text
_CLIPPED = "\n\n… (truncated)"

AnnotationIdentity = tuple[str, int, int, str, str, str | None]


def clip(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return text[: MAX_OUTPUT_CHARS - len(_CLIPPED)] + _CLIPPED


def annotation_payload(annotation: Annotation) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "path": annotation.path,
        "start_line": annotation.start_line,
        "end_line": annotation.end_line,
        "annotation_level": annotation.level,
        "message": annotation.message,
    }
    if annotation.title is not None:
        entry["title"] = annotation.title
    return entry


def identity(annotation: Annotation) -> AnnotationIdentity:
    return (
        annotation.path,
        annotation.start_line,
        annotation.end_line,
        annotation.level,
        annotation.message,
        annotation.title or None,
    )


def undelivered(
    wanted: Sequence[Annotation], present: Iterable[AnnotationIdentity]
) -> list[Annotation]:
    """The annotations of `wanted` GitHub does not hold yet, in order (duplicates counted)."""
    have = Counter(present)
    missing: list[Annotation] = []
    for annotation in wanted:
        key = identity(annotation)
        if have[key] > 0:
            have[key] -= 1
        else:
            missing.append(annotation)
    return missing


def chunks(items: Sequence[Annotation]) -> Iterator[Sequence[Annotation]]:
    for start in range(0, len(items), ANNOTATIONS_PER_REQUEST):
        yield items[start : start + ANNOTATIONS_PER_REQUEST]


def output(check: CheckRun, annotations: Sequence[Annotation]) -> dict[str, Any]:
    document: dict[str, Any] = {"title": check.title, "summary": clip(check.summary)}
    if check.text is not None:
        document["text"] = clip(check.text)
    if annotations:
        document["annotations"] = [annotation_payload(item) for item in annotations]
    return document


def _find(commit: Commit, *, name: str, app_id: int | None) -> int | None:
    with github_errors():
        for run in commit.get_check_runs(check_name=name):  # newest first, as GitHub lists them
            # Another App's run of the same name cannot be updated by us (GitHub answers 403).
            if app_id is None or run.app.id == app_id:
                return int(run.id)
    return None


def _create(dest: Destination, check: CheckRun) -> int:
    first = check.annotations[:ANNOTATIONS_PER_REQUEST]
    with github_errors():
        created = dest.repo.create_check_run(
            name=check.name,
            head_sha=check.head_sha,
            status="completed",
            conclusion=check.conclusion,
            output=output(check, first),
        )
    return int(created.id)


def _present_annotations(run: GitHubCheckRun) -> list[AnnotationIdentity]:
    if not run.output.annotations_count:
        return []
    return [
        (
            item.path,
            item.start_line,
            item.end_line,
            item.annotation_level,
            item.message,
            item.title or None,
        )
        for item in run.get_annotations()
    ]


def _up_to_date(run: GitHubCheckRun, check: CheckRun) -> bool:
    return (
        run.status == "completed"
        and run.conclusion == check.conclusion
        and run.output.title == check.title
        and run.output.summary == clip(check.summary)
        and run.output.text == (clip(check.text) if check.text is not None else None)
    )


def publish_check_run(dest: Destination, check: CheckRun) -> None:
    commit = dest.repo.get_commit(check.head_sha)  # lazy
    ensured = dest.ledger.ensure(
        dest.key(target=check.head_sha, slot=f"check-run:{check.name}"),
        holder=dest.job_id,
        find=lambda: _find(commit, name=check.name, app_id=dest.app_id),
        create=lambda: _create(dest, check),
    )
    run = dest.repo.get_check_run(ensured.github_id)  # lazy
    with github_errors():
        if ensured.created:
            remaining = list(check.annotations[ANNOTATIONS_PER_REQUEST:])
        else:
            remaining = undelivered(check.annotations, _present_annotations(run))
            if not _up_to_date(run, check):
                first = remaining[:ANNOTATIONS_PER_REQUEST]
                remaining = remaining[ANNOTATIONS_PER_REQUEST:]
                run.edit(
                    status="completed", conclusion=check.conclusion, output=output(check, first)
                )
        # Only the output: a repeated conclusion would send `check_run.completed` again.
        for chunk in chunks(remaining):
            run.edit(output=output(check, chunk))
