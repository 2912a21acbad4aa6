"""Which automations apply to an event once its repository's own config is taken into account.

The web process matches the central config only (it never waits on GitHub). In the worker:
- `dispatch` matches the merged config and creates the jobs the repository added;
- `review_job` re-checks a job the web created against the merged config before it runs: the
  repository may have disabled or replaced that automation.
A broken repository config is reported on the repository (a failing `hookwise/config` check run on
its default branch, one per commit; with a token, one comment per version of the file) and the
central automations run alone meanwhile.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog

from service.triggers import Config, ConfigIssue, Identity, JobSpec, match_event
from service.triggers.merge import Merged
from workers.agents.base import (
    AgentContext,
    Annotation,
    CheckRun,
    Comment,
    NoOptions,
    Result,
)
from workers.github.client import github_errors
from workers.github.publishing.ledger import Ledger, OutputKey
from workers.github.publishing.target import target_for
from workers.github.repo_config import PATH, RepoConfig, RepoConfigs
from workers.publish import ResultPublisher

log = structlog.get_logger(__name__)

CHECK_NAME = "hookwise/config"


@dataclass(frozen=True, slots=True)
class Effective:
    merged: Merged
    repo: RepoConfig | None


def effective_config(
    *,
    central: Config,
    repo_configs: RepoConfigs | None,
    payload: Mapping[str, Any],
) -> Effective:
    repository = payload.get("repository")
    if repo_configs is None or not isinstance(repository, Mapping):
        return Effective(merged=Merged(config=central, notes=()), repo=None)
    default_branch = repository.get("default_branch") or "main"
    installation = payload.get("installation") or {}
    repo = repo_configs.load(
        repository=str(repository["full_name"]),
        default_branch=str(default_branch),
        installation_id=installation.get("id"),
    )
    return Effective(merged=repo.apply(central), repo=repo)


@dataclass(frozen=True, slots=True)
class Review:
    """What to do with a job the web created from the central config."""

    skip_reason: str | None = None
    spec: JobSpec | None = None  # the repository's version of the automation, if it replaced it


def review_job(
    *,
    automation: str,
    central: Config,
    effective: Effective,
    event: str,
    payload: Mapping[str, Any],
    identity: Identity,
) -> Review:
    merged = effective.merged.config.automation(automation)
    base = central.automation(automation)
    if base is None:
        return Review()  # the repository's own automation, matched against its config already
    if merged is None:
        return Review(skip_reason=f"disabled by {PATH}")
    if merged is base:
        return Review()
    single = Config(version=1, automations=(merged,), source=effective.merged.config.source)
    result = match_event(single, event=event, payload=payload, identity=identity)
    if not result.jobs:
        reason = result.not_matched[0].reason if result.not_matched else "not matched"
        return Review(skip_reason=f"{PATH} replaces this automation: {reason}")
    return Review(spec=result.jobs[0])


def report_broken_config(
    *,
    repo: RepoConfig,
    payload: Mapping[str, Any],
    head_sha: str | None,
    publisher: ResultPublisher,
    event: str,
    ledger: Ledger,
) -> None:
    """As a GitHub App: a failing check run on the default branch's head, each error annotated at
    its line (one per commit). With a plain token (check runs need an App): a comment on the
    first issue or pull request an event is about, once per version of the file in the
    repository (`ledger` remembers where it went)."""
    if repo.error is None:
        return
    issues = repo.error.issues
    summary = "\n".join(f"- line {i.line}, column {i.column}: {i.message}" for i in issues)
    log.warning("repository config is broken", repository=repo.repository, errors=len(issues))
    context = AgentContext(
        job_id=f"config-{(repo.blob_sha or '')[:20]}",  # fits a job id column
        delivery_id="",
        automation=CHECK_NAME,
        event=event,
        action=None,
        payload=payload,
        options=NoOptions(),
    )
    if head_sha is not None:
        result = _check_run_report(repo, issues=issues, summary=summary, head_sha=head_sha)
        publisher.publish(result, context=context)
        return
    number = target_for(event, payload).number
    if number is None:
        log.info("broken config to be reported at the next issue or pull request event")
        return
    comment = Result(
        summary=f"{len(issues)} error(s) in {PATH}",
        comments=(
            Comment(
                body=f"Hookwise could not use `{PATH}` from the default branch, so only the "
                f"central automations run in this repository:\n\n{summary}",
            ),
        ),
    )

    def post() -> int:
        publisher.publish(comment, context=context)
        return number

    ledger.ensure(
        OutputKey(
            repository=repo.repository,
            target=f"config:{repo.blob_sha}",
            automation=CHECK_NAME,
            slot="reported-on",  # the id stored is the issue or pull request it went to
        ),
        holder=context.job_id,
        find=lambda: None,
        create=post,
    )


def _check_run_report(
    repo: RepoConfig, *, issues: list[ConfigIssue], summary: str, head_sha: str
) -> Result:
    return Result(
        summary=f"{len(issues)} error(s) in {PATH}",
        check_run=CheckRun(
            name=CHECK_NAME,
            head_sha=head_sha,
            conclusion="failure",
            title=f"{PATH} has {len(issues)} error(s); only the central automations run",
            summary=summary,
            annotations=tuple(
                Annotation(
                    path=PATH,
                    start_line=i.line,
                    end_line=i.line,
                    level="failure",
                    message=i.message,
                    title="Hookwise config error",
                )
                for i in issues
            ),
        ),
    )


def default_branch_head(gh: Any, *, repository: str, branch: str) -> str:
    with github_errors():
        return str(gh.get_repo(repository).get_commit(branch).sha)
