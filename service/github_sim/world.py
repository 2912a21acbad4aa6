"""The simulator's behaviour: every state change GitHub would make, as plain methods.

`World` knows nothing about HTTP. Methods raise `SimError` with GitHub's status and message, and
append the webhook events GitHub would send to `World.outbox`; the HTTP layer drains the outbox
after each request and hands the events to the delivery worker.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from service.github_sim import diffs
from service.github_sim.models import (
    REACTION_CONTENTS,
    Account,
    AccountType,
    Annotation,
    CheckRun,
    Commit,
    Hook,
    Installation,
    InstallationToken,
    Issue,
    IssueComment,
    Label,
    Permission,
    PullData,
    Reaction,
    Repository,
    Review,
    ReviewComment,
    WorkflowJob,
    WorkflowRun,
    WorldData,
)
from service.github_sim.render import AppIdentity, Json, Renderer

MAX_ANNOTATIONS_PER_REQUEST = 50
PERMISSION_RANK: dict[str, int] = {
    "none": 0,
    "read": 1,
    "triage": 2,
    "write": 3,
    "maintain": 4,
    "admin": 5,
}
DOCS = "https://docs.github.com/rest"


class SimError(Exception):
    """A GitHub error answer: status code, `message`, and optional `errors`."""

    def __init__(self, status: int, message: str, errors: list[Any] | None = None) -> None:
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.errors = errors

    def body(self) -> Json:
        document: Json = {"message": self.message, "documentation_url": DOCS}
        if self.errors is not None:
            document["errors"] = self.errors
        return document


def not_found() -> SimError:
    return SimError(404, "Not Found")


def validation_failed(resource: str, field_name: str, code: str, **extra: str) -> SimError:
    return SimError(
        422,
        "Validation Failed",
        [{"resource": resource, "field": field_name, "code": code, **extra}],
    )


@dataclass(frozen=True)
class PendingEvent:
    """A webhook GitHub would send; `payload` lacks `installation`, which depends on the target."""

    event: str
    action: str | None
    repository_id: int | None
    owner_id: int
    payload: Json


@dataclass
class AppConfig:
    app_id: int
    slug: str = "hookwise-sim"
    name: str = "Hookwise Sim"
    public_key_pem: str | None = None
    installation_token_ttl: timedelta = timedelta(hours=1)


@dataclass
class World:
    data: WorldData
    renderer: Renderer
    app: AppConfig | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    outbox: list[PendingEvent] = field(default_factory=list)

    # -- ids, accounts ------------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock().replace(microsecond=0)

    def new_id(self) -> int:
        self.data.next_id += 1
        return self.data.next_id

    def account_by_login(self, login: str) -> Account | None:
        lowered = login.lower()
        for account in self.data.accounts.values():
            if account.login.lower() == lowered:
                return account
        return None

    def require_account(self, login: str) -> Account:
        account = self.account_by_login(login)
        if account is None:
            raise not_found()
        return account

    def account(self, account_id: int) -> Account:
        return self.data.accounts[account_id]

    def ensure_account(self, login: str, *, kind: AccountType = "User") -> Account:
        existing = self.account_by_login(login)
        if existing is not None:
            return existing
        account = Account(id=self.new_id(), login=login, type=kind, created_at=self.now())
        self.data.accounts[account.id] = account
        return account

    def add_user_token(self, login: str, token: str) -> Account:
        account = self.ensure_account(login)
        self.data.user_tokens[token] = account.id
        return account

    def app_identity(self) -> AppIdentity:
        if self.app is None:
            raise not_found()
        owner = self.ensure_account("sim-app-owner", kind="Organization")
        return AppIdentity(
            id=self.app.app_id,
            slug=self.app.slug,
            name=self.app.name,
            owner=owner,
            created_at=owner.created_at,
        )

    def bot_account(self) -> Account:
        """The App acts as `<slug>[bot]`, a Bot account like GitHub's."""
        if self.app is None:
            raise not_found()
        return self.ensure_account(f"{self.app.slug}[bot]", kind="Bot")

    # -- repositories -------------------------------------------------------------------------
    def find_repo(self, owner: str, name: str) -> Repository:
        owner_account = self.account_by_login(owner)
        if owner_account is None:
            raise not_found()
        for repo in self.data.repositories.values():
            if repo.owner_id == owner_account.id and repo.name.lower() == name.lower():
                return repo
        raise not_found()

    def owner_of(self, repo: Repository) -> Account:
        return self.account(repo.owner_id)

    def repo_base(self, repo: Repository) -> str:
        return f"{self.renderer.api}/repos/{self.owner_of(repo).login}/{repo.name}"

    def repo_html(self, repo: Repository) -> str:
        return f"{self.renderer.html}/{self.owner_of(repo).login}/{repo.name}"

    def create_repository(
        self,
        *,
        owner: Account,
        name: str,
        actor: Account,
        description: str | None = None,
        private: bool = False,
        default_branch: str = "main",
        files: dict[str, str] | None = None,
    ) -> Repository:
        if not name or any(char in name for char in " /\\"):
            raise validation_failed("Repository", "name", "custom", message="name is invalid")
        for existing in self.data.repositories.values():
            if existing.owner_id == owner.id and existing.name.lower() == name.lower():
                raise validation_failed(
                    "Repository", "name", "custom", message="name already exists on this account"
                )
        now = self.now()
        repo = Repository(
            id=self.new_id(),
            owner_id=owner.id,
            name=name,
            description=description,
            private=private,
            default_branch=default_branch,
            created_at=now,
            updated_at=now,
            pushed_at=now,
        )
        self.data.repositories[repo.id] = repo
        initial = {"README.md": f"# {name}\n"} if files is None else files
        self.commit_files(repo, branch=default_branch, changes=dict(initial), author=actor)
        for default_label, color in (("bug", "d73a4a"), ("enhancement", "a2eeef")):
            repo.labels.append(
                Label(id=self.new_id(), name=default_label, color=color, default=True)
            )
        self.emit(repo, "repository", "created", actor, {})
        return repo

    def commit_files(
        self,
        repo: Repository,
        *,
        branch: str,
        changes: dict[str, str | None],
        author: Account,
        message: str = "Update files",
        from_branch: str | None = None,
    ) -> Commit:
        """Commit `changes` (path to new text, None deletes) onto `branch`, creating it if new."""
        parent_sha = repo.branches.get(branch) or repo.branches.get(
            from_branch or repo.default_branch
        )
        tree = dict(repo.trees.get(parent_sha, {})) if parent_sha else {}
        for path, text in changes.items():
            if text is None:
                tree.pop(path, None)
            else:
                tree[path] = text
        seed = f"{repo.id}:{branch}:{len(repo.commits)}:{message}:{sorted(tree.items())}"
        sha = hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
        tree_sha = hashlib.sha1(str(sorted(tree.items())).encode(), usedforsecurity=False)
        commit = Commit(
            sha=sha,
            tree_sha=tree_sha.hexdigest(),
            message=message,
            author_id=author.id,
            parents=[parent_sha] if parent_sha else [],
            timestamp=self.now(),
        )
        repo.commits[sha] = commit
        repo.trees[sha] = tree
        repo.branches[branch] = sha
        repo.pushed_at = self.now()
        return commit

    def resolve_ref(self, repo: Repository, ref: str | None) -> str:
        """A branch name or commit sha to a commit sha."""
        if ref is None:
            return repo.branches[repo.default_branch]
        if ref in repo.branches:
            return repo.branches[ref]
        for prefix in ("refs/heads/", "heads/"):
            if ref.startswith(prefix) and ref[len(prefix) :] in repo.branches:
                return repo.branches[ref[len(prefix) :]]
        if ref in repo.commits:
            return ref
        matches = [sha for sha in repo.commits if len(ref) >= 7 and sha.startswith(ref)]
        if len(matches) == 1:
            return matches[0]
        raise SimError(404, f"No commit found for the ref {ref}")

    def push(
        self,
        repo: Repository,
        *,
        branch: str,
        changes: dict[str, str | None],
        author: Account,
        message: str,
        from_branch: str | None = None,
    ) -> Commit:
        """A `git push` of one commit; open pull requests from that branch get `synchronize`."""
        before = repo.branches.get(branch)
        commit = self.commit_files(
            repo,
            branch=branch,
            changes=changes,
            author=author,
            message=message,
            from_branch=from_branch,
        )
        for issue in repo.issues.values():
            pull = issue.pull
            if pull is None or issue.state != "open" or pull.head_ref != branch:
                continue
            self._refresh_pull(repo, issue)
            issue.updated_at = self.now()
            self.emit(
                repo,
                "pull_request",
                "synchronize",
                author,
                {
                    "number": issue.number,
                    "before": before or commit.sha,
                    "after": commit.sha,
                    "pull_request": self.pull_json(repo, issue),
                },
            )
        return commit

    def put_file(
        self,
        repo: Repository,
        *,
        path: str,
        text: str,
        message: str,
        branch: str | None,
        sha: str | None,
        actor: Account,
    ) -> tuple[bool, Commit]:
        """Contents API write; returns (created, commit). GitHub demands the blob sha to update."""
        target = branch or repo.default_branch
        if target not in repo.branches:
            raise SimError(404, f"Branch {target} not found")
        tree = repo.trees[repo.branches[target]]
        existing = tree.get(path)
        if existing is not None:
            if sha is None:
                raise SimError(422, 'Invalid request.\n\n"sha" wasn\'t supplied.')
            if sha != blob_sha(existing):
                raise SimError(409, f"{path} does not match {sha}")
        commit = self.push(repo, branch=target, changes={path: text}, author=actor, message=message)
        return existing is None, commit

    # -- permissions --------------------------------------------------------------------------
    def permission(self, repo: Repository, account: Account) -> Permission:
        if account.id == repo.owner_id:
            return "admin"
        org_admins = {login.lower() for login in self.data.org_admins.get(repo.owner_id, [])}
        if account.login.lower() in org_admins:
            return "admin"
        if account.type == "Bot" and self.app is not None and self.installation_for_repo(repo):
            # The App's bot writes wherever the App is installed (our App asks for write access).
            return "write"
        explicit = repo.collaborators.get(account.login.lower())
        if explicit is not None:
            return explicit
        return "none" if repo.private else "read"

    def set_permission(self, repo: Repository, login: str, permission: Permission) -> None:
        self.ensure_account(login)
        repo.collaborators[login.lower()] = permission

    def association(self, repo: Repository, account: Account, *, for_pull: bool = False) -> str:
        if account.id == repo.owner_id:
            return "OWNER"
        if account.type == "Bot":
            return "NONE"
        if repo.collaborators.get(account.login.lower(), "none") != "none":
            return "COLLABORATOR"
        merged_before = any(
            issue.pull is not None and issue.pull.merged and issue.user_id == account.id
            for issue in repo.issues.values()
        )
        if merged_before:
            return "CONTRIBUTOR"
        return "FIRST_TIME_CONTRIBUTOR" if for_pull else "NONE"

    # -- rendering helpers that need the world ------------------------------------------------
    def repo_json(self, repo: Repository, *, full: bool = False) -> Json:
        if full:
            return self.renderer.full_repository(repo, self.owner_of(repo))
        return self.renderer.repository(repo, self.owner_of(repo))

    def labels_of(self, repo: Repository, issue: Issue) -> list[Label]:
        by_name = {label.name.lower(): label for label in repo.labels}
        return [by_name[name.lower()] for name in issue.label_names if name.lower() in by_name]

    def comment_count(self, repo: Repository, issue: Issue) -> int:
        return sum(1 for comment in repo.comments.values() if comment.issue_number == issue.number)

    def issue_json(self, repo: Repository, issue: Issue) -> Json:
        author = self.account(issue.user_id)
        return self.renderer.issue(
            repo_base=self.repo_base(repo),
            repo_html=self.repo_html(repo),
            issue=issue,
            author=author,
            assignees=[self.account(account_id) for account_id in issue.assignee_ids],
            labels=self.labels_of(repo, issue),
            comment_count=self.comment_count(repo, issue),
            association=self.association(repo, author, for_pull=issue.pull is not None),
        )

    def comment_json(self, repo: Repository, comment: IssueComment) -> Json:
        author = self.account(comment.user_id)
        via_app = None
        if author.type == "Bot" and self.app is not None and author.id == self.bot_account().id:
            via_app = self.renderer.app(self.app_identity())
        return self.renderer.issue_comment(
            repo_base=self.repo_base(repo),
            repo_html=self.repo_html(repo),
            comment=comment,
            author=author,
            association=self.association(repo, author),
            via_app=via_app,
        )

    def pull_json(self, repo: Repository, issue: Issue) -> Json:
        author = self.account(issue.user_id)
        review_comments = sum(
            1 for comment in repo.review_comments.values() if comment.pull_number == issue.number
        )
        return self.renderer.pull_request(
            repo=repo,
            owner=self.owner_of(repo),
            issue=issue,
            author=author,
            labels=self.labels_of(repo, issue),
            comment_count=self.comment_count(repo, issue),
            review_comment_count=review_comments,
            association=self.association(repo, author, for_pull=True),
        )

    # -- events -------------------------------------------------------------------------------
    def emit(
        self, repo: Repository, event: str, action: str | None, sender: Account, body: Json
    ) -> None:
        owner = self.owner_of(repo)
        payload: Json = {"action": action} if action is not None else {}
        payload.update(body)
        payload["repository"] = self.repo_json(repo)
        if owner.type == "Organization":
            payload["organization"] = self.renderer.organization(owner)
        payload["sender"] = self.renderer.user(sender)
        self.outbox.append(
            PendingEvent(
                event=event,
                action=action,
                repository_id=repo.id,
                owner_id=owner.id,
                payload=payload,
            )
        )

    def drain_outbox(self) -> list[PendingEvent]:
        events, self.outbox = self.outbox, []
        return events

    # -- issues -------------------------------------------------------------------------------
    def find_issue(self, repo: Repository, number: int) -> Issue:
        issue = repo.issues.get(number)
        if issue is None:
            raise not_found()
        return issue

    def require_write(self, repo: Repository, actor: Account, *, minimum: str = "write") -> None:
        if PERMISSION_RANK[self.permission(repo, actor)] < PERMISSION_RANK[minimum]:
            raise SimError(403, "Resource not accessible by integration")

    def create_issue(
        self,
        repo: Repository,
        *,
        actor: Account,
        title: str,
        body: str | None = None,
        labels: list[str] | None = None,
        assignees: list[str] | None = None,
        privileged: bool = False,
    ) -> Issue:
        if not title.strip():
            raise validation_failed("Issue", "title", "missing_field")
        now = self.now()
        issue = Issue(
            id=self.new_id(),
            number=repo.next_number,
            title=title,
            body=body,
            user_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        repo.next_number += 1
        repo.issues[issue.number] = issue
        # Only pushers may set labels and assignees on create; GitHub silently drops them otherwise.
        may_triage = PERMISSION_RANK[self.permission(repo, actor)] >= PERMISSION_RANK["triage"]
        if privileged or may_triage:
            for name in labels or []:
                issue.label_names.append(self.ensure_label(repo, name).name)
            issue.assignee_ids = [self.require_account(login).id for login in assignees or []]
        self.emit(repo, "issues", "opened", actor, {"issue": self.issue_json(repo, issue)})
        return issue

    def update_issue(
        self,
        repo: Repository,
        issue: Issue,
        *,
        actor: Account,
        title: str | None = None,
        body: str | None = None,
        state: str | None = None,
        state_reason: str | None = None,
        labels: list[str] | None = None,
    ) -> Issue:
        may_triage = PERMISSION_RANK[self.permission(repo, actor)] >= PERMISSION_RANK["triage"]
        if actor.id != issue.user_id and not may_triage:
            raise SimError(403, "Resource not accessible by integration")
        if title is not None and not title.strip():
            raise validation_failed("Issue", "title", "missing_field")
        if state is not None and state not in ("open", "closed"):
            raise validation_failed("Issue", "state", "invalid")
        changes: Json = {}
        if title is not None and title != issue.title:
            changes["title"] = {"from": issue.title}
            issue.title = title
        if body is not None and body != issue.body:
            changes["body"] = {"from": issue.body or ""}
            issue.body = body
        issue.updated_at = self.now()
        if changes and issue.pull is not None:
            edited: Json = {
                "number": issue.number,
                "changes": changes,
                "pull_request": self.pull_json(repo, issue),
            }
            self.emit(repo, "pull_request", "edited", actor, edited)
        elif changes:
            edited = {"issue": self.issue_json(repo, issue), "changes": changes}
            self.emit(repo, "issues", "edited", actor, edited)
        if labels is not None and may_triage:
            # An author without triage rights may edit the text; GitHub ignores their labels.
            self.set_labels(repo, issue, labels, actor=actor)
        if state is not None and state != issue.state:
            issue.state = "closed" if state == "closed" else "open"
            issue.closed_at = self.now() if state == "closed" else None
            issue.state_reason = (state_reason or "completed") if state == "closed" else "reopened"
            action = "closed" if state == "closed" else "reopened"
            event = "pull_request" if issue.pull is not None else "issues"
            if issue.pull is not None:
                body_json: Json = {
                    "number": issue.number,
                    "pull_request": self.pull_json(repo, issue),
                }
            else:
                body_json = {"issue": self.issue_json(repo, issue)}
            self.emit(repo, event, action, actor, body_json)
        return issue

    # -- labels -------------------------------------------------------------------------------
    def find_label(self, repo: Repository, name: str) -> Label:
        for label in repo.labels:
            if label.name.lower() == name.lower():
                return label
        raise not_found()

    def create_label(
        self, repo: Repository, *, name: str, color: str = "ededed", description: str | None = None
    ) -> Label:
        if not name.strip():
            raise validation_failed("Label", "name", "missing_field")
        if any(label.name.lower() == name.lower() for label in repo.labels):
            raise validation_failed("Label", "name", "already_exists")
        label = Label(id=self.new_id(), name=name, color=color.lstrip("#"), description=description)
        repo.labels.append(label)
        return label

    def ensure_label(self, repo: Repository, name: str) -> Label:
        """Adding an unknown label to an issue creates it, as GitHub does."""
        try:
            return self.find_label(repo, name)
        except SimError:
            return self.create_label(repo, name=name)

    def add_labels(
        self, repo: Repository, issue: Issue, names: list[str], *, actor: Account
    ) -> None:
        self.require_write(repo, actor, minimum="triage")
        for name in names:
            label = self.ensure_label(repo, name)
            if label.name in issue.label_names:
                continue
            issue.label_names.append(label.name)
            issue.updated_at = self.now()
            self._emit_labeled(repo, issue, label, actor, action="labeled")

    def set_labels(
        self, repo: Repository, issue: Issue, names: list[str], *, actor: Account
    ) -> None:
        self.require_write(repo, actor, minimum="triage")
        wanted = [self.ensure_label(repo, name) for name in names]
        for name in list(issue.label_names):
            if all(label.name != name for label in wanted):
                self.remove_label(repo, issue, name, actor=actor)
        self.add_labels(repo, issue, [label.name for label in wanted], actor=actor)

    def remove_label(self, repo: Repository, issue: Issue, name: str, *, actor: Account) -> None:
        self.require_write(repo, actor, minimum="triage")
        for existing in issue.label_names:
            if existing.lower() == name.lower():
                issue.label_names.remove(existing)
                issue.updated_at = self.now()
                self._emit_labeled(
                    repo, issue, self.find_label(repo, existing), actor, action="unlabeled"
                )
                return
        raise SimError(404, "Label does not exist")

    def _emit_labeled(
        self, repo: Repository, issue: Issue, label: Label, actor: Account, *, action: str
    ) -> None:
        label_json = self.renderer.label(self.repo_base(repo), label)
        if issue.pull is not None:
            body: Json = {
                "number": issue.number,
                "pull_request": self.pull_json(repo, issue),
                "label": label_json,
            }
            self.emit(repo, "pull_request", action, actor, body)
        else:
            body = {"issue": self.issue_json(repo, issue), "label": label_json}
            self.emit(repo, "issues", action, actor, body)

    # -- comments and reactions ---------------------------------------------------------------
    def find_comment(self, repo: Repository, comment_id: int) -> IssueComment:
        comment = repo.comments.get(comment_id)
        if comment is None:
            raise not_found()
        return comment

    def create_comment(
        self, repo: Repository, issue: Issue, *, actor: Account, body: str
    ) -> IssueComment:
        if not body.strip():
            raise validation_failed("IssueComment", "body", "missing_field")
        if (
            issue.locked
            and PERMISSION_RANK[self.permission(repo, actor)] < PERMISSION_RANK["write"]
        ):
            raise SimError(403, "Unable to create comment because issue is locked.")
        now = self.now()
        comment = IssueComment(
            id=self.new_id(),
            issue_number=issue.number,
            body=body,
            user_id=actor.id,
            created_at=now,
            updated_at=now,
        )
        repo.comments[comment.id] = comment
        issue.updated_at = now
        self.emit(
            repo,
            "issue_comment",
            "created",
            actor,
            {"issue": self.issue_json(repo, issue), "comment": self.comment_json(repo, comment)},
        )
        return comment

    def update_comment(
        self, repo: Repository, comment: IssueComment, *, actor: Account, body: str
    ) -> IssueComment:
        if actor.id != comment.user_id:
            self.require_write(repo, actor)
        if not body.strip():
            raise validation_failed("IssueComment", "body", "missing_field")
        previous = comment.body
        comment.body = body
        comment.updated_at = self.now()
        if previous != body:
            issue = self.find_issue(repo, comment.issue_number)
            self.emit(
                repo,
                "issue_comment",
                "edited",
                actor,
                {
                    "changes": {"body": {"from": previous}},
                    "issue": self.issue_json(repo, issue),
                    "comment": self.comment_json(repo, comment),
                },
            )
        return comment

    def delete_comment(self, repo: Repository, comment: IssueComment, *, actor: Account) -> None:
        if actor.id != comment.user_id:
            self.require_write(repo, actor)
        del repo.comments[comment.id]

    def add_reaction(
        self, reactions: list[Reaction], *, actor: Account, content: str
    ) -> tuple[bool, Reaction]:
        """Returns (created, reaction): the same user and content twice is the same reaction."""
        chosen = next((item for item in REACTION_CONTENTS if item == content), None)
        if chosen is None:
            raise validation_failed("Reaction", "content", "invalid")
        for reaction in reactions:
            if reaction.user_id == actor.id and reaction.content == content:
                return False, reaction
        reaction = Reaction(
            id=self.new_id(),
            user_id=actor.id,
            content=chosen,
            created_at=self.now(),
        )
        reactions.append(reaction)
        return True, reaction

    # -- pull requests ------------------------------------------------------------------------
    def find_pull(self, repo: Repository, number: int) -> Issue:
        issue = repo.issues.get(number)
        if issue is None or issue.pull is None:
            raise not_found()
        return issue

    def _pull_commits(self, repo: Repository, head_sha: str, base_sha: str) -> list[str]:
        base_ancestry: set[str] = set()
        cursor: str | None = base_sha
        while cursor is not None:
            base_ancestry.add(cursor)
            parents = repo.commits[cursor].parents
            cursor = parents[0] if parents else None
        shas: list[str] = []
        cursor = head_sha
        while cursor is not None and cursor not in base_ancestry:
            shas.append(cursor)
            parents = repo.commits[cursor].parents
            cursor = parents[0] if parents else None
        return list(reversed(shas))

    def _refresh_pull(self, repo: Repository, issue: Issue) -> None:
        pull = issue.pull
        if pull is None:
            return
        pull.head_sha = repo.branches[pull.head_ref]
        pull.files = diffs.file_changes(repo.trees[pull.base_sha], repo.trees[pull.head_sha])
        pull.commit_shas = self._pull_commits(repo, pull.head_sha, pull.base_sha)

    def create_pull(
        self,
        repo: Repository,
        *,
        actor: Account,
        title: str,
        head: str,
        base: str,
        body: str | None = None,
        draft: bool = False,
    ) -> Issue:
        head_ref = head.split(":", 1)[-1]
        if base not in repo.branches:
            raise validation_failed("PullRequest", "base", "invalid")
        if head_ref not in repo.branches:
            raise validation_failed("PullRequest", "head", "invalid")
        if not title.strip():
            raise validation_failed("PullRequest", "title", "missing_field")
        if repo.branches[head_ref] == repo.branches[base]:
            raise validation_failed(
                "PullRequest",
                "base",
                "custom",
                message=f"No commits between {base} and {head_ref}",
            )
        for existing in repo.issues.values():
            if (
                existing.pull is not None
                and existing.state == "open"
                and existing.pull.head_ref == head_ref
                and existing.pull.base_ref == base
            ):
                raise validation_failed(
                    "PullRequest",
                    "head",
                    "custom",
                    message=f"A pull request already exists for {head}.",
                )
        now = self.now()
        issue = Issue(
            id=self.new_id(),
            number=repo.next_number,
            title=title,
            body=body,
            user_id=actor.id,
            created_at=now,
            updated_at=now,
            pull=PullData(
                id=self.new_id(),
                head_ref=head_ref,
                head_sha=repo.branches[head_ref],
                base_ref=base,
                base_sha=repo.branches[base],
                draft=draft,
            ),
        )
        repo.next_number += 1
        repo.issues[issue.number] = issue
        self._refresh_pull(repo, issue)
        self.emit(
            repo,
            "pull_request",
            "opened",
            actor,
            {"number": issue.number, "pull_request": self.pull_json(repo, issue)},
        )
        return issue

    def pulls_for_commit(self, repo: Repository, sha: str) -> list[Issue]:
        full_sha = self.resolve_ref(repo, sha)
        return [
            issue
            for issue in repo.issues.values()
            if issue.pull is not None and full_sha in issue.pull.commit_shas
        ]

    # -- reviews ------------------------------------------------------------------------------
    def _anchor_comment(
        self,
        repo: Repository,
        issue: Issue,
        *,
        path: str,
        line: int | None,
        side: str,
        position: int | None,
        start_line: int | None,
        start_side: str | None,
    ) -> tuple[diffs.DiffLine, str, str]:
        """Find the diff line a comment sits on; raise `LookupError` naming what GitHub rejects."""
        pull = issue.pull
        if pull is None:
            raise LookupError("Pull request could not be resolved")
        change = next((item for item in pull.files if item.filename == path), None)
        if change is None:
            raise LookupError("Path could not be resolved")
        parsed = diffs.parse_patch(change.patch)
        if position is not None:
            anchor = diffs.find_position(parsed, position)
        else:
            if line is None or side not in ("LEFT", "RIGHT"):
                raise LookupError("Line could not be resolved")
            anchor = diffs.find_line(parsed, line=line, side="LEFT" if side == "LEFT" else "RIGHT")
        if anchor is None:
            raise LookupError("Line could not be resolved")
        if start_line is not None:
            start_anchor = diffs.find_line(
                parsed, line=start_line, side="LEFT" if (start_side or side) == "LEFT" else "RIGHT"
            )
            if start_anchor is None or start_anchor.hunk != anchor.hunk:
                raise LookupError("Start line could not be resolved")
            if start_anchor.position >= anchor.position:
                raise LookupError("start_line must precede line")
        return anchor, change.patch, "LEFT" if anchor.kind == "removed" else "RIGHT"

    def add_review_comment(
        self,
        repo: Repository,
        issue: Issue,
        *,
        actor: Account,
        review_id: int | None,
        spec: Json,
        commit_id: str,
    ) -> ReviewComment:
        side_value = str(spec.get("side") or "RIGHT")
        anchor, patch, side = self._anchor_comment(
            repo,
            issue,
            path=str(spec.get("path", "")),
            line=_optional_int(spec.get("line")),
            side=side_value,
            position=_optional_int(spec.get("position")),
            start_line=_optional_int(spec.get("start_line")),
            start_side=_optional_str(spec.get("start_side")),
        )
        now = self.now()
        comment = ReviewComment(
            id=self.new_id(),
            pull_number=issue.number,
            review_id=review_id,
            user_id=actor.id,
            body=str(spec.get("body", "")),
            path=str(spec["path"]),
            position=anchor.position,
            line=anchor.new_line if side == "RIGHT" else anchor.old_line,
            side="LEFT" if side == "LEFT" else "RIGHT",
            start_line=_optional_int(spec.get("start_line")),
            start_side=("LEFT" if spec.get("start_side") == "LEFT" else "RIGHT")
            if spec.get("start_line") is not None
            else None,
            commit_id=commit_id,
            diff_hunk=diffs.hunk_text(patch, anchor),
            created_at=now,
            updated_at=now,
        )
        repo.review_comments[comment.id] = comment
        return comment

    def create_review(
        self,
        repo: Repository,
        issue: Issue,
        *,
        actor: Account,
        body: str,
        event: str | None,
        commit_id: str | None,
        comments: list[Json],
    ) -> Review:
        pull = issue.pull
        if pull is None:
            raise not_found()
        states = {
            "APPROVE": "APPROVED",
            "REQUEST_CHANGES": "CHANGES_REQUESTED",
            "COMMENT": "COMMENTED",
        }
        if event is not None and event not in states:
            raise SimError(422, "Unprocessable Entity", [f"Invalid event {event}"])
        if event in ("REQUEST_CHANGES", "COMMENT") and not body.strip() and not comments:
            raise SimError(422, "Unprocessable Entity", ["Body is required for this review event"])
        if actor.id == issue.user_id and event in ("APPROVE", "REQUEST_CHANGES"):
            raise SimError(422, "Unprocessable Entity", ["Can not approve your own pull request"])
        if self.pending_review(repo, issue, user_id=actor.id) is not None:
            # GitHub refuses any new review, submitted or not, while the user has a pending one.
            raise SimError(
                422,
                "Unprocessable Entity",
                ["User can only have one pending review per pull request"],
            )
        # Validate every inline comment before writing anything: GitHub rejects the whole review.
        for spec in comments:
            try:
                self._anchor_comment(
                    repo,
                    issue,
                    path=str(spec.get("path", "")),
                    line=_optional_int(spec.get("line")),
                    side=str(spec.get("side") or "RIGHT"),
                    position=_optional_int(spec.get("position")),
                    start_line=_optional_int(spec.get("start_line")),
                    start_side=_optional_str(spec.get("start_side")),
                )
            except LookupError as error:
                raise SimError(422, "Unprocessable Entity", [str(error)]) from error
        review = Review(
            id=self.new_id(),
            pull_number=issue.number,
            user_id=actor.id,
            body=body,
            state="PENDING" if event is None else states[event],
            commit_id=commit_id or pull.head_sha,
            submitted_at=None if event is None else self.now(),
        )
        repo.reviews[review.id] = review
        for spec in comments:
            self.add_review_comment(
                repo, issue, actor=actor, review_id=review.id, spec=spec, commit_id=review.commit_id
            )
        return review

    def pending_review(self, repo: Repository, issue: Issue, *, user_id: int) -> Review | None:
        return next(
            (
                review
                for review in repo.reviews.values()
                if review.pull_number == issue.number
                and review.user_id == user_id
                and review.state == "PENDING"
            ),
            None,
        )

    def delete_pending_review(
        self, repo: Repository, issue: Issue, *, actor: Account, review_id: int
    ) -> Review:
        """Remove a pending review and its comments; only its author sees it, so for anyone else
        it does not exist."""
        review = repo.reviews.get(review_id)
        if review is None or review.pull_number != issue.number:
            raise not_found()
        if review.state == "PENDING" and review.user_id != actor.id:
            raise not_found()
        if review.state != "PENDING":
            raise SimError(
                422, "Unprocessable Entity", ["Can not delete a non-pending pull request review"]
            )
        del repo.reviews[review_id]
        for comment_id in [
            item.id for item in repo.review_comments.values() if item.review_id == review_id
        ]:
            del repo.review_comments[comment_id]
        return review

    def create_single_review_comment(
        self, repo: Repository, issue: Issue, *, actor: Account, spec: Json
    ) -> ReviewComment:
        pull = issue.pull
        if pull is None:
            raise not_found()
        for required in ("body", "path"):
            if not spec.get(required):
                raise validation_failed("PullRequestReviewComment", required, "missing_field")
        if spec.get("line") is None and spec.get("position") is None:
            raise validation_failed("PullRequestReviewComment", "line", "missing_field")
        review = Review(
            id=self.new_id(),
            pull_number=issue.number,
            user_id=actor.id,
            body="",
            state="COMMENTED",
            commit_id=str(spec.get("commit_id") or pull.head_sha),
            submitted_at=self.now(),
        )
        try:
            comment = self.add_review_comment(
                repo,
                issue,
                actor=actor,
                review_id=review.id,
                spec=spec,
                commit_id=review.commit_id,
            )
        except LookupError as error:
            raise SimError(
                422,
                "Validation Failed",
                [
                    {
                        "resource": "PullRequestReviewComment",
                        "code": "custom",
                        "field": "pull_request_review_thread.line",
                        "message": str(error),
                    }
                ],
            ) from error
        repo.reviews[review.id] = review
        return comment

    # -- check runs ---------------------------------------------------------------------------
    def find_check_run(self, repo: Repository, run_id: int) -> CheckRun:
        run = repo.check_runs.get(run_id)
        if run is None:
            raise not_found()
        return run

    def _append_annotations(self, run: CheckRun, output: Json | None) -> None:
        if not output:
            return
        annotations = output.get("annotations") or []
        if len(annotations) > MAX_ANNOTATIONS_PER_REQUEST:
            raise validation_failed(
                "CheckRun",
                "output.annotations",
                "custom",
                message=f"Only {MAX_ANNOTATIONS_PER_REQUEST} annotations are allowed per request",
            )
        parsed: list[Annotation] = []
        for raw in annotations:
            try:
                parsed.append(Annotation.model_validate(raw))
            except ValueError as error:
                raise validation_failed(
                    "CheckRun", "output.annotations", "invalid", message=str(error).splitlines()[0]
                ) from error
        run.annotations.extend(parsed)
        for key in ("title", "summary", "text"):
            if key in output:
                setattr(run, f"output_{key}", output[key])

    def create_check_run(self, repo: Repository, *, actor: Account, body: Json) -> CheckRun:
        name, head_sha = body.get("name"), body.get("head_sha")
        if not isinstance(name, str) or not name:
            raise validation_failed("CheckRun", "name", "missing_field")
        if not isinstance(head_sha, str) or head_sha not in repo.commits:
            raise validation_failed("CheckRun", "head_sha", "invalid")
        now = self.now()
        run = CheckRun(
            id=self.new_id(),
            name=name,
            head_sha=head_sha,
            check_suite_id=self._suite_for(repo, head_sha),
            created_at=now,
            started_at=now,
        )
        completed = self._apply_check_fields(run, body)
        repo.check_runs[run.id] = run
        self.emit(
            repo, "check_run", "created", actor, {"check_run": self.check_run_json(repo, run)}
        )
        if completed:
            self._emit_check_completed(repo, run, actor)
        return run

    def update_check_run(
        self, repo: Repository, run: CheckRun, *, actor: Account, body: Json
    ) -> CheckRun:
        if self._apply_check_fields(run, body):
            self._emit_check_completed(repo, run, actor)
        return run

    def _emit_check_completed(self, repo: Repository, run: CheckRun, actor: Account) -> None:
        payload = {"check_run": self.check_run_json(repo, run)}
        self.emit(repo, "check_run", "completed", actor, payload)

    def _suite_for(self, repo: Repository, head_sha: str) -> int:
        for run in repo.check_runs.values():
            if run.head_sha == head_sha:
                return run.check_suite_id
        return self.new_id()

    def _apply_check_fields(self, run: CheckRun, body: Json) -> bool:
        """Validate and apply a create/update body; True when this made the run completed."""
        was_completed = run.status == "completed"
        status = body.get("status")
        conclusion = body.get("conclusion")
        valid_conclusions = {
            "action_required",
            "cancelled",
            "failure",
            "neutral",
            "success",
            "skipped",
            "timed_out",
        }
        if status is not None and status not in ("queued", "in_progress", "completed"):
            raise validation_failed("CheckRun", "status", "invalid")
        if conclusion is not None and conclusion not in valid_conclusions:
            raise validation_failed("CheckRun", "conclusion", "invalid")
        if status == "completed" and conclusion is None and run.conclusion is None:
            raise validation_failed("CheckRun", "conclusion", "missing_field")
        self._append_annotations(run, body.get("output"))
        for key in ("name", "details_url", "external_id"):
            if isinstance(body.get(key), str):
                setattr(run, key, body[key])
        if conclusion is not None:
            # Like GitHub, a conclusion alone marks the run completed.
            run.conclusion = conclusion
            run.status = "completed"
            run.completed_at = self.now()
        elif status is not None:
            run.status = status
        return run.status == "completed" and not was_completed

    def check_run_json(self, repo: Repository, run: CheckRun) -> Json:
        owner = self.owner_of(repo)
        pulls = [
            self.renderer.pull_request_minimal(repo=repo, owner=owner, issue=issue)
            for issue in repo.issues.values()
            if issue.pull is not None
            and issue.state == "open"
            and issue.pull.head_sha == run.head_sha
        ]
        head_branch = next(
            (branch for branch, sha in repo.branches.items() if sha == run.head_sha), None
        )
        return self.renderer.check_run(
            repo=repo,
            owner=owner,
            run=run,
            identity=self.app_identity() if self.app is not None else _placeholder_app(self),
            pulls=pulls,
            head_branch=head_branch,
        )

    # -- actions ------------------------------------------------------------------------------
    def find_workflow_run(self, repo: Repository, run_id: int) -> WorkflowRun:
        run = repo.workflow_runs.get(run_id)
        if run is None:
            raise not_found()
        return run

    def find_job(self, repo: Repository, job_id: int) -> tuple[WorkflowRun, WorkflowJob]:
        for run in repo.workflow_runs.values():
            for job in run.jobs:
                if job.id == job_id:
                    return run, job
        raise not_found()

    def create_workflow_run(
        self,
        repo: Repository,
        *,
        actor: Account,
        name: str,
        head_branch: str | None,
        head_sha: str | None,
        event: str,
        jobs: list[Json],
        path: str | None = None,
    ) -> WorkflowRun:
        branch = head_branch or repo.default_branch
        sha = head_sha or self.resolve_ref(repo, branch)
        if sha not in repo.commits:
            raise validation_failed("WorkflowRun", "head_sha", "invalid")
        now = self.now()
        workflow_path = path or f".github/workflows/{name.lower().replace(' ', '-')}.yml"
        number = 1 + sum(1 for run in repo.workflow_runs.values() if run.path == workflow_path)
        run = WorkflowRun(
            id=self.new_id(),
            name=name,
            path=workflow_path,
            workflow_id=int(
                hashlib.sha1(workflow_path.encode(), usedforsecurity=False).hexdigest()[:7], 16
            ),
            run_number=number,
            event=event,
            head_branch=branch,
            head_sha=sha,
            actor_id=actor.id,
            check_suite_id=self.new_id(),
            created_at=now,
            updated_at=now,
        )
        for spec in jobs:
            run.jobs.append(
                WorkflowJob(
                    id=self.new_id(),
                    run_id=run.id,
                    name=str(spec.get("name", "build")),
                    log=str(spec.get("log", "")),
                    started_at=now,
                )
            )
        repo.workflow_runs[run.id] = run
        self.emit(
            repo,
            "workflow_run",
            "requested",
            actor,
            {
                "workflow_run": self.workflow_run_json(repo, run),
                "workflow": self.renderer.workflow(repo=repo, owner=self.owner_of(repo), run=run),
            },
        )
        return run

    def complete_workflow_run(
        self,
        repo: Repository,
        run: WorkflowRun,
        *,
        conclusion: str,
        job_conclusions: dict[str, str] | None = None,
        logs: dict[str, str] | None = None,
    ) -> WorkflowRun:
        if run.status == "completed":
            raise SimError(409, "This workflow run is already completed")
        now = self.now()
        for job in run.jobs:
            job.status = "completed"
            job.conclusion = (job_conclusions or {}).get(job.name, conclusion)
            job.completed_at = now
            if logs and job.name in logs:
                job.log = logs[job.name]
        run.status = "completed"
        run.conclusion = conclusion
        run.updated_at = now
        self.emit(
            repo,
            "workflow_run",
            "completed",
            self.account(run.actor_id),
            {
                "workflow_run": self.workflow_run_json(repo, run),
                "workflow": self.renderer.workflow(repo=repo, owner=self.owner_of(repo), run=run),
            },
        )
        return run

    def workflow_run_json(self, repo: Repository, run: WorkflowRun) -> Json:
        owner = self.owner_of(repo)
        commit = repo.commits[run.head_sha]
        pulls = [
            self.renderer.pull_request_minimal(repo=repo, owner=owner, issue=issue)
            for issue in repo.issues.values()
            if issue.pull is not None
            and issue.state == "open"
            and issue.pull.head_sha == run.head_sha
        ]
        return self.renderer.workflow_run(
            repo=repo,
            owner=owner,
            run=run,
            actor=self.account(run.actor_id),
            head_commit=commit,
            commit_author=self.account(commit.author_id),
            pulls=pulls,
        )

    # -- hooks --------------------------------------------------------------------------------
    def create_hook(
        self, repo: Repository, *, url: str, secret: str | None, events: list[str], active: bool
    ) -> Hook:
        if not url.startswith(("http://", "https://")):
            raise validation_failed("Hook", "url", "custom", message="url is not a valid URL")
        now = self.now()
        hook = Hook(
            id=self.new_id(),
            url=url,
            secret=secret,
            events=events or ["push"],
            active=active,
            created_at=now,
            updated_at=now,
        )
        repo.hooks[hook.id] = hook
        return hook

    # -- installations and tokens ---------------------------------------------------------------
    def create_installation(
        self, *, account: Account, repository_names: list[str] | None
    ) -> Installation:
        for existing in self.data.installations.values():
            if existing.account_id == account.id:
                raise validation_failed("Installation", "account", "already_exists")
        installation = Installation(
            id=self.new_id(),
            account_id=account.id,
            repository_selection="all" if repository_names is None else "selected",
            created_at=self.now(),
        )
        for name in repository_names or []:
            installation.repository_ids.append(self.find_repo(account.login, name).id)
        self.data.installations[installation.id] = installation
        return installation

    def installation_repos(self, installation: Installation) -> list[Repository]:
        if installation.repository_selection == "all":
            return [
                repo
                for repo in self.data.repositories.values()
                if repo.owner_id == installation.account_id
            ]
        return [
            self.data.repositories[repo_id]
            for repo_id in installation.repository_ids
            if repo_id in self.data.repositories
        ]

    def installation_for_repo(self, repo: Repository) -> Installation | None:
        for installation in self.data.installations.values():
            if any(candidate.id == repo.id for candidate in self.installation_repos(installation)):
                return installation
        return None

    def token_repos(self, issued: InstallationToken) -> list[Repository]:
        """The repositories an installation token may act on."""
        repos = self.installation_repos(self.find_installation(issued.installation_id))
        if issued.repository_ids is None:
            return repos
        return [repo for repo in repos if repo.id in issued.repository_ids]

    def find_installation(self, installation_id: int) -> Installation:
        installation = self.data.installations.get(installation_id)
        if installation is None:
            raise not_found()
        return installation

    def issue_installation_token(
        self,
        installation: Installation,
        token: str,
        *,
        repository_names: list[str] | None = None,
    ) -> InstallationToken:
        """A `ghs_` token; `repository_names` narrows it, and must lie inside the installation."""
        if self.app is None:
            raise not_found()
        narrowed: list[int] | None = None
        if repository_names is not None:
            by_name = {repo.name.lower(): repo.id for repo in self.installation_repos(installation)}
            if any(name.lower() not in by_name for name in repository_names):
                raise SimError(
                    422,
                    "There is at least one repository that does not exist or is not accessible"
                    " to the parent installation.",
                )
            narrowed = [by_name[name.lower()] for name in repository_names]
        issued = InstallationToken(
            token=token,
            installation_id=installation.id,
            expires_at=self.now() + self.app.installation_token_ttl,
            repository_ids=narrowed,
        )
        self.data.installation_tokens[token] = issued
        return issued


def blob_sha(text: str) -> str:
    """Git's blob id, which the contents API uses as a file's `sha`."""
    data = text.encode()
    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def _optional_int(value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise LookupError("Line could not be resolved")
    try:
        return int(value)
    except ValueError as error:
        raise LookupError("Line could not be resolved") from error


def _optional_str(value: object) -> str | None:
    return None if value is None else str(value)


def _placeholder_app(world: World) -> AppIdentity:
    """Check runs made with a personal token still name an app on GitHub; ours is a stand-in."""
    owner = world.ensure_account("sim-app-owner", kind="Organization")
    return AppIdentity(id=1, slug="sim", name="Sim", owner=owner, created_at=owner.created_at)
