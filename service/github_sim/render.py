"""GitHub-shaped JSON for the simulator's state.

One shape per object serves both the REST API and webhook payloads: the webhook schemas forbid extra
properties while the REST schemas require a few more, so REST-only fields are added by the callers
that need them (e.g. `full_repository`). All functions are pure.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from service.github_sim.models import (
    REACTION_CONTENTS,
    Account,
    Annotation,
    CheckRun,
    Commit,
    Delivery,
    FileChange,
    Hook,
    Installation,
    Issue,
    IssueComment,
    Label,
    Reaction,
    Repository,
    Review,
    ReviewComment,
    WorkflowJob,
    WorkflowRun,
)

Json = dict[str, Any]

APP_PERMISSIONS: dict[str, str] = {
    "actions": "read",
    "checks": "write",
    "contents": "write",
    "issues": "write",
    "metadata": "read",
    "pull_requests": "write",
    "repository_hooks": "write",
}
APP_EVENTS = [
    "check_run",
    "issue_comment",
    "issues",
    "pull_request",
    "repository",
    "workflow_run",
]


def iso(moment: datetime | None) -> str | None:
    """GitHub's timestamp format: second precision, `Z` suffix."""
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_required(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def node_id(kind: str, number: int) -> str:
    return base64.b64encode(f"0:{kind}{number}".encode()).decode().rstrip("=")


@dataclass(frozen=True)
class AppIdentity:
    id: int
    slug: str
    name: str
    owner: Account
    created_at: datetime


@dataclass(frozen=True)
class Renderer:
    """Builds JSON documents; `api` is the simulator's base URL, `html` the web-page base URL."""

    api: str
    html: str

    # -- accounts -----------------------------------------------------------------------------
    def user(self, account: Account) -> Json:
        login = account.login
        base = f"{self.api}/users/{login}"
        return {
            "login": login,
            "id": account.id,
            "node_id": node_id("User", account.id),
            "avatar_url": f"{self.html}/avatars/u/{account.id}",
            "gravatar_id": "",
            "url": base,
            "html_url": f"{self.html}/{login}",
            "followers_url": f"{base}/followers",
            "following_url": f"{base}/following{{/other_user}}",
            "gists_url": f"{base}/gists{{/gist_id}}",
            "starred_url": f"{base}/starred{{/owner}}{{/repo}}",
            "subscriptions_url": f"{base}/subscriptions",
            "organizations_url": f"{base}/orgs",
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events{{/privacy}}",
            "received_events_url": f"{base}/received_events",
            "type": account.type,
            "site_admin": False,
        }

    def private_user(self, account: Account, *, public_repos: int) -> Json:
        created = iso_required(account.created_at)
        return {
            **self.user(account),
            "name": account.name,
            "company": None,
            "blog": "",
            "location": None,
            "email": account.email,
            "hireable": None,
            "bio": None,
            "twitter_username": None,
            "public_repos": public_repos,
            "public_gists": 0,
            "followers": 0,
            "following": 0,
            "created_at": created,
            "updated_at": created,
            "private_gists": 0,
            "total_private_repos": 0,
            "owned_private_repos": 0,
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": False,
        }

    def public_user(self, account: Account, *, public_repos: int) -> Json:
        """`GET /users/{u}`: the private view minus what only the account itself may see."""
        document = self.private_user(account, public_repos=public_repos)
        document.pop("two_factor_authentication")
        return document

    def organization(self, account: Account) -> Json:
        base = f"{self.api}/orgs/{account.login}"
        return {
            "login": account.login,
            "id": account.id,
            "node_id": node_id("Organization", account.id),
            "url": base,
            "repos_url": f"{base}/repos",
            "events_url": f"{base}/events",
            "hooks_url": f"{base}/hooks",
            "issues_url": f"{base}/issues",
            "members_url": f"{base}/members{{/member}}",
            "public_members_url": f"{base}/public_members{{/member}}",
            "avatar_url": f"{self.html}/avatars/u/{account.id}",
            "description": None,
        }

    # -- repositories -------------------------------------------------------------------------
    def repository_lite(self, repo: Repository, owner: Account) -> Json:
        full = f"{owner.login}/{repo.name}"
        base = f"{self.api}/repos/{full}"
        return {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": full,
            "private": repo.private,
            "owner": self.user(owner),
            "html_url": f"{self.html}/{full}",
            "description": repo.description,
            "fork": False,
            "url": base,
            "forks_url": f"{base}/forks",
            "keys_url": f"{base}/keys{{/key_id}}",
            "collaborators_url": f"{base}/collaborators{{/collaborator}}",
            "teams_url": f"{base}/teams",
            "hooks_url": f"{base}/hooks",
            "issue_events_url": f"{base}/issues/events{{/number}}",
            "events_url": f"{base}/events",
            "assignees_url": f"{base}/assignees{{/user}}",
            "branches_url": f"{base}/branches{{/branch}}",
            "tags_url": f"{base}/tags",
            "blobs_url": f"{base}/git/blobs{{/sha}}",
            "git_tags_url": f"{base}/git/tags{{/sha}}",
            "git_refs_url": f"{base}/git/refs{{/sha}}",
            "trees_url": f"{base}/git/trees{{/sha}}",
            "statuses_url": f"{base}/statuses/{{sha}}",
            "languages_url": f"{base}/languages",
            "stargazers_url": f"{base}/stargazers",
            "contributors_url": f"{base}/contributors",
            "subscribers_url": f"{base}/subscribers",
            "subscription_url": f"{base}/subscription",
            "commits_url": f"{base}/commits{{/sha}}",
            "git_commits_url": f"{base}/git/commits{{/sha}}",
            "comments_url": f"{base}/comments{{/number}}",
            "issue_comment_url": f"{base}/issues/comments{{/number}}",
            "contents_url": f"{base}/contents/{{+path}}",
            "compare_url": f"{base}/compare/{{base}}...{{head}}",
            "merges_url": f"{base}/merges",
            "archive_url": f"{base}/{{archive_format}}{{/ref}}",
            "downloads_url": f"{base}/downloads",
            "issues_url": f"{base}/issues{{/number}}",
            "pulls_url": f"{base}/pulls{{/number}}",
            "milestones_url": f"{base}/milestones{{/number}}",
            "notifications_url": f"{base}/notifications{{?since,all,participating}}",
            "labels_url": f"{base}/labels{{/name}}",
            "releases_url": f"{base}/releases{{/id}}",
            "deployments_url": f"{base}/deployments",
        }

    def repository(self, repo: Repository, owner: Account) -> Json:
        """The shape webhook payloads carry (and the REST `repository` schema accepts)."""
        full = f"{owner.login}/{repo.name}"
        open_issues = sum(1 for issue in repo.issues.values() if issue.state == "open")
        return {
            **self.repository_lite(repo, owner),
            "created_at": iso(repo.created_at),
            "updated_at": iso(repo.updated_at),
            "pushed_at": iso(repo.pushed_at),
            "git_url": f"git://sim/{full}.git",
            "ssh_url": f"git@sim:{full}.git",
            "clone_url": f"{self.html}/{full}.git",
            "svn_url": f"{self.html}/{full}",
            "homepage": repo.homepage,
            "size": 0,
            "stargazers_count": 0,
            "watchers_count": 0,
            "language": None,
            "has_issues": True,
            "has_projects": True,
            "has_downloads": True,
            "has_wiki": True,
            "has_pages": False,
            "forks_count": 0,
            "mirror_url": None,
            "archived": False,
            "disabled": False,
            "open_issues_count": open_issues,
            "license": None,
            "forks": 0,
            "open_issues": open_issues,
            "watchers": 0,
            "default_branch": repo.default_branch,
            "is_template": False,
            "web_commit_signoff_required": False,
            "topics": [],
            "visibility": "private" if repo.private else "public",
            "custom_properties": {},
        }

    def full_repository(self, repo: Repository, owner: Account) -> Json:
        return {**self.repository(repo, owner), "network_count": 0, "subscribers_count": 0}

    def repo_ref(self, repo: Repository, owner: Account) -> Json:
        return {
            "id": repo.id,
            "url": f"{self.api}/repos/{owner.login}/{repo.name}",
            "name": repo.name,
        }

    # -- issues, comments, labels, reactions ----------------------------------------------------
    def label(self, repo_base: str, label: Label) -> Json:
        return {
            "id": label.id,
            "node_id": node_id("Label", label.id),
            "url": f"{repo_base}/labels/{label.name}",
            "name": label.name,
            "color": label.color,
            "default": label.default,
            "description": label.description,
        }

    def reactions_rollup(self, url: str, reactions: list[Reaction]) -> Json:
        rollup: Json = {"url": url, "total_count": len(reactions)}
        for content in REACTION_CONTENTS:
            rollup[content] = sum(1 for reaction in reactions if reaction.content == content)
        return rollup

    def reaction(self, reaction: Reaction, user: Account) -> Json:
        return {
            "id": reaction.id,
            "node_id": node_id("Reaction", reaction.id),
            "user": self.user(user),
            "content": reaction.content,
            "created_at": iso(reaction.created_at),
        }

    def issue(
        self,
        *,
        repo_base: str,
        repo_html: str,
        issue: Issue,
        author: Account,
        assignees: list[Account],
        labels: list[Label],
        comment_count: int,
        association: str,
    ) -> Json:
        url = f"{repo_base}/issues/{issue.number}"
        kind = "pull" if issue.pull is not None else "issues"
        document: Json = {
            "url": url,
            "repository_url": repo_base,
            "labels_url": f"{url}/labels{{/name}}",
            "comments_url": f"{url}/comments",
            "events_url": f"{url}/events",
            "html_url": f"{repo_html}/{kind}/{issue.number}",
            "id": issue.id,
            "node_id": node_id("Issue", issue.id),
            "number": issue.number,
            "title": issue.title,
            "user": self.user(author),
            "labels": [self.label(repo_base, label) for label in labels],
            "state": issue.state,
            "locked": issue.locked,
            "assignee": self.user(assignees[0]) if assignees else None,
            "assignees": [self.user(account) for account in assignees],
            "milestone": None,
            "comments": comment_count,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "author_association": association,
            "active_lock_reason": None,
            "body": issue.body,
            "reactions": self.reactions_rollup(f"{url}/reactions", issue.reactions),
            "timeline_url": f"{url}/timeline",
            "performed_via_github_app": None,
            "state_reason": issue.state_reason,
        }
        if issue.pull is not None:
            pull_url = f"{repo_base}/pulls/{issue.number}"
            html = f"{repo_html}/pull/{issue.number}"
            document["pull_request"] = {
                "url": pull_url,
                "html_url": html,
                "diff_url": f"{html}.diff",
                "patch_url": f"{html}.patch",
                "merged_at": None,
            }
            document["draft"] = issue.pull.draft
        return document

    def issue_comment(
        self,
        *,
        repo_base: str,
        repo_html: str,
        comment: IssueComment,
        author: Account,
        association: str,
        via_app: Json | None,
    ) -> Json:
        url = f"{repo_base}/issues/comments/{comment.id}"
        return {
            "url": url,
            "html_url": f"{repo_html}/issues/{comment.issue_number}#issuecomment-{comment.id}",
            "issue_url": f"{repo_base}/issues/{comment.issue_number}",
            "id": comment.id,
            "node_id": node_id("IssueComment", comment.id),
            "user": self.user(author),
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "author_association": association,
            "performed_via_github_app": via_app,
            "body": comment.body,
            "reactions": self.reactions_rollup(f"{url}/reactions", comment.reactions),
        }

    # -- pulls --------------------------------------------------------------------------------
    def pull_request(
        self,
        *,
        repo: Repository,
        owner: Account,
        issue: Issue,
        author: Account,
        labels: list[Label],
        comment_count: int,
        review_comment_count: int,
        association: str,
    ) -> Json:
        pull = issue.pull
        if pull is None:
            raise ValueError(f"issue {issue.number} is not a pull request")
        repo_json = self.repository(repo, owner)
        repo_base = repo_json["url"]
        url = f"{repo_base}/pulls/{issue.number}"
        html = f"{repo_json['html_url']}/pull/{issue.number}"
        issue_url = f"{repo_base}/issues/{issue.number}"
        statuses = f"{repo_base}/statuses/{pull.head_sha}"
        additions = sum(change.additions for change in pull.files)
        deletions = sum(change.deletions for change in pull.files)
        return {
            "url": url,
            "id": pull.id,
            "node_id": node_id("PullRequest", pull.id),
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "issue_url": issue_url,
            "number": issue.number,
            "state": issue.state,
            "locked": issue.locked,
            "title": issue.title,
            "user": self.user(author),
            "body": issue.body,
            "created_at": iso(issue.created_at),
            "updated_at": iso(issue.updated_at),
            "closed_at": iso(issue.closed_at),
            "merged_at": None,
            "merge_commit_sha": None,
            "assignee": None,
            "assignees": [],
            "requested_reviewers": [],
            "requested_teams": [],
            "labels": [self.label(repo_base, label) for label in labels],
            "milestone": None,
            "draft": pull.draft,
            "commits_url": f"{url}/commits",
            "review_comments_url": f"{url}/comments",
            "review_comment_url": f"{repo_base}/pulls/comments{{/number}}",
            "comments_url": f"{issue_url}/comments",
            "statuses_url": statuses,
            "head": {
                "label": f"{owner.login}:{pull.head_ref}",
                "ref": pull.head_ref,
                "sha": pull.head_sha,
                "user": self.user(owner),
                "repo": repo_json,
            },
            "base": {
                "label": f"{owner.login}:{pull.base_ref}",
                "ref": pull.base_ref,
                "sha": pull.base_sha,
                "user": self.user(owner),
                "repo": repo_json,
            },
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "issue": {"href": issue_url},
                "comments": {"href": f"{issue_url}/comments"},
                "review_comments": {"href": f"{url}/comments"},
                "review_comment": {"href": f"{repo_base}/pulls/comments{{/number}}"},
                "commits": {"href": f"{url}/commits"},
                "statuses": {"href": statuses},
            },
            "author_association": association,
            "auto_merge": None,
            "active_lock_reason": None,
            "merged": pull.merged,
            "mergeable": True,
            "rebaseable": True,
            "mergeable_state": "clean",
            "merged_by": None,
            "comments": comment_count,
            "review_comments": review_comment_count,
            "maintainer_can_modify": False,
            "commits": len(pull.commit_shas),
            "additions": additions,
            "deletions": deletions,
            "changed_files": len(pull.files),
        }

    def pull_request_minimal(self, *, repo: Repository, owner: Account, issue: Issue) -> Json:
        pull = issue.pull
        if pull is None:
            raise ValueError(f"issue {issue.number} is not a pull request")
        ref = self.repo_ref(repo, owner)
        return {
            "url": f"{ref['url']}/pulls/{issue.number}",
            "id": pull.id,
            "number": issue.number,
            "head": {"ref": pull.head_ref, "sha": pull.head_sha, "repo": ref},
            "base": {"ref": pull.base_ref, "sha": pull.base_sha, "repo": ref},
        }

    def diff_entry(
        self, *, repo_base: str, repo_html: str, head_sha: str, change: FileChange
    ) -> Json:
        entry: Json = {
            "sha": blob_sha(f"{head_sha}:{change.filename}"),
            "filename": change.filename,
            "status": change.status,
            "additions": change.additions,
            "deletions": change.deletions,
            "changes": change.additions + change.deletions,
            "blob_url": f"{repo_html}/blob/{head_sha}/{change.filename}",
            "raw_url": f"{repo_html}/raw/{head_sha}/{change.filename}",
            "contents_url": f"{repo_base}/contents/{change.filename}?ref={head_sha}",
            "patch": change.patch,
        }
        if change.previous_filename is not None:
            entry["previous_filename"] = change.previous_filename
        return entry

    def commit(self, *, repo_base: str, repo_html: str, commit: Commit, author: Account) -> Json:
        person = {
            "name": author.name or author.login,
            "email": author.email or f"{author.login}@users.noreply.sim",
            "date": iso(commit.timestamp),
        }
        return {
            "url": f"{repo_base}/commits/{commit.sha}",
            "sha": commit.sha,
            "node_id": node_id("Commit", int(commit.sha[:8], 16)),
            "html_url": f"{repo_html}/commit/{commit.sha}",
            "comments_url": f"{repo_base}/commits/{commit.sha}/comments",
            "commit": {
                "url": f"{repo_base}/git/commits/{commit.sha}",
                "author": person,
                "committer": person,
                "message": commit.message,
                "tree": {"sha": commit.tree_sha, "url": f"{repo_base}/git/trees/{commit.tree_sha}"},
                "comment_count": 0,
                "verification": {
                    "verified": False,
                    "reason": "unsigned",
                    "payload": None,
                    "signature": None,
                },
            },
            "author": self.user(author),
            "committer": self.user(author),
            "parents": [
                {"sha": parent, "url": f"{repo_base}/commits/{parent}"} for parent in commit.parents
            ],
        }

    def commit_simple(self, commit: Commit, author: Account) -> Json:
        person = {
            "name": author.name or author.login,
            "email": author.email or f"{author.login}@users.noreply.sim",
        }
        return {
            "id": commit.sha,
            "tree_id": commit.tree_sha,
            "message": commit.message,
            "timestamp": iso(commit.timestamp),
            "author": person,
            "committer": person,
        }

    def review(
        self, *, repo_base: str, repo_html: str, review: Review, author: Account, association: str
    ) -> Json:
        html = f"{repo_html}/pull/{review.pull_number}#pullrequestreview-{review.id}"
        pull_url = f"{repo_base}/pulls/{review.pull_number}"
        document: Json = {
            "id": review.id,
            "node_id": node_id("PullRequestReview", review.id),
            "user": self.user(author),
            "body": review.body,
            "state": review.state,
            "html_url": html,
            "pull_request_url": pull_url,
            "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
            "commit_id": review.commit_id,
            "author_association": association,
        }
        if review.submitted_at is not None:
            document["submitted_at"] = iso(review.submitted_at)
        return document

    def review_comment(
        self,
        *,
        repo_base: str,
        repo_html: str,
        comment: ReviewComment,
        author: Account,
        association: str,
    ) -> Json:
        url = f"{repo_base}/pulls/comments/{comment.id}"
        html = f"{repo_html}/pull/{comment.pull_number}#discussion_r{comment.id}"
        pull_url = f"{repo_base}/pulls/{comment.pull_number}"
        document: Json = {
            "url": url,
            "id": comment.id,
            "node_id": node_id("PullRequestReviewComment", comment.id),
            "pull_request_review_id": comment.review_id,
            "diff_hunk": comment.diff_hunk,
            "path": comment.path,
            "position": comment.position,
            "original_position": comment.position,
            "commit_id": comment.commit_id,
            "original_commit_id": comment.commit_id,
            "user": self.user(author),
            "body": comment.body,
            "created_at": iso(comment.created_at),
            "updated_at": iso(comment.updated_at),
            "html_url": html,
            "pull_request_url": pull_url,
            "author_association": association,
            "_links": {
                "self": {"href": url},
                "html": {"href": html},
                "pull_request": {"href": pull_url},
            },
            "start_line": comment.start_line,
            "original_start_line": comment.start_line,
            "start_side": comment.start_side,
            "line": comment.line,
            "original_line": comment.line,
            "side": comment.side,
            "reactions": self.reactions_rollup(f"{url}/reactions", []),
        }
        if comment.in_reply_to_id is not None:
            document["in_reply_to_id"] = comment.in_reply_to_id
        return document

    # -- apps ---------------------------------------------------------------------------------
    def app(self, identity: AppIdentity) -> Json:
        created = iso(identity.created_at)
        return {
            "id": identity.id,
            "slug": identity.slug,
            "node_id": node_id("Integration", identity.id),
            "owner": self.user(identity.owner),
            "name": identity.name,
            "description": "GitHub App simulated by hookwise github-sim",
            "external_url": f"{self.html}/apps/{identity.slug}",
            "html_url": f"{self.html}/apps/{identity.slug}",
            "created_at": created,
            "updated_at": created,
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
        }

    def installation(
        self, *, installation: Installation, account: Account, identity: AppIdentity
    ) -> Json:
        created = iso(installation.created_at)
        return {
            "id": installation.id,
            "account": self.user(account),
            "repository_selection": installation.repository_selection,
            "access_tokens_url": (f"{self.api}/app/installations/{installation.id}/access_tokens"),
            "repositories_url": f"{self.api}/installation/repositories",
            "html_url": f"{self.html}/settings/installations/{installation.id}",
            "app_id": identity.id,
            "app_slug": identity.slug,
            "target_id": account.id,
            "target_type": account.type,
            "permissions": dict(APP_PERMISSIONS),
            "events": list(APP_EVENTS),
            "created_at": created,
            "updated_at": created,
            "single_file_name": None,
            "has_multiple_single_files": False,
            "single_file_paths": [],
            "suspended_by": None,
            "suspended_at": None,
        }

    # -- checks and actions -------------------------------------------------------------------
    def check_run(
        self,
        *,
        repo: Repository,
        owner: Account,
        run: CheckRun,
        identity: AppIdentity,
        pulls: list[Json],
        head_branch: str | None,
    ) -> Json:
        repo_base = f"{self.api}/repos/{owner.login}/{repo.name}"
        url = f"{repo_base}/check-runs/{run.id}"
        app_json = self.app(identity)
        document: Json = {
            "id": run.id,
            "node_id": node_id("CheckRun", run.id),
            "head_sha": run.head_sha,
            "external_id": run.external_id or "",
            "url": url,
            "html_url": f"{self.html}/{owner.login}/{repo.name}/runs/{run.id}",
            "details_url": run.details_url,
            "status": run.status,
            "conclusion": run.conclusion,
            "started_at": iso(run.started_at or run.created_at),
            "completed_at": iso(run.completed_at),
            "output": {
                "title": run.output_title,
                "summary": run.output_summary,
                "text": run.output_text,
                "annotations_count": len(run.annotations),
                "annotations_url": f"{url}/annotations",
            },
            "name": run.name,
            "check_suite": {
                "id": run.check_suite_id,
                "node_id": node_id("CheckSuite", run.check_suite_id),
                "head_branch": head_branch,
                "head_sha": run.head_sha,
                "status": run.status,
                "conclusion": run.conclusion,
                "url": f"{repo_base}/check-suites/{run.check_suite_id}",
                "before": None,
                "after": run.head_sha,
                "pull_requests": pulls,
                "app": app_json,
                "created_at": iso(run.created_at),
                "updated_at": iso(run.completed_at or run.created_at),
            },
            "app": app_json,
            "pull_requests": pulls,
        }
        if run.details_url is None:
            # REST always has the key (nullable); the webhook schema wants a string or nothing.
            document["details_url"] = document["html_url"]
        return document

    def annotation(self, *, repo_html: str, head_sha: str, annotation: Annotation) -> Json:
        return {
            "path": annotation.path,
            "blob_href": f"{repo_html}/blob/{head_sha}/{annotation.path}",
            "start_line": annotation.start_line,
            "end_line": annotation.end_line,
            "start_column": annotation.start_column,
            "end_column": annotation.end_column,
            "annotation_level": annotation.annotation_level,
            "title": annotation.title,
            "message": annotation.message,
            "raw_details": annotation.raw_details,
        }

    def workflow_run(
        self,
        *,
        repo: Repository,
        owner: Account,
        run: WorkflowRun,
        actor: Account,
        head_commit: Commit,
        commit_author: Account,
        pulls: list[Json],
    ) -> Json:
        repo_base = f"{self.api}/repos/{owner.login}/{repo.name}"
        url = f"{repo_base}/actions/runs/{run.id}"
        lite = self.repository_lite(repo, owner)
        return {
            "id": run.id,
            "name": run.name,
            "node_id": node_id("WorkflowRun", run.id),
            "head_branch": run.head_branch,
            "head_sha": run.head_sha,
            "path": run.path,
            "display_title": head_commit.message.splitlines()[0]
            if head_commit.message
            else run.name,
            "run_number": run.run_number,
            "event": run.event,
            "status": run.status,
            "conclusion": run.conclusion,
            "workflow_id": run.workflow_id,
            "check_suite_id": run.check_suite_id,
            "check_suite_node_id": node_id("CheckSuite", run.check_suite_id),
            "url": url,
            "html_url": f"{self.html}/{owner.login}/{repo.name}/actions/runs/{run.id}",
            "pull_requests": pulls,
            "created_at": iso(run.created_at),
            "updated_at": iso(run.updated_at),
            "actor": self.user(actor),
            "triggering_actor": self.user(actor),
            "run_attempt": 1,
            "run_started_at": iso(run.created_at),
            "previous_attempt_url": None,
            "jobs_url": f"{url}/jobs",
            "logs_url": f"{url}/logs",
            "check_suite_url": f"{repo_base}/check-suites/{run.check_suite_id}",
            "artifacts_url": f"{url}/artifacts",
            "cancel_url": f"{url}/cancel",
            "rerun_url": f"{url}/rerun",
            "workflow_url": f"{repo_base}/actions/workflows/{run.workflow_id}",
            "head_commit": self.commit_simple(head_commit, commit_author),
            "repository": lite,
            "head_repository": lite,
        }

    def workflow(self, *, repo: Repository, owner: Account, run: WorkflowRun) -> Json:
        repo_base = f"{self.api}/repos/{owner.login}/{repo.name}"
        html = f"{self.html}/{owner.login}/{repo.name}"
        return {
            "badge_url": f"{html}/workflows/{run.name}/badge.svg",
            "created_at": iso(repo.created_at),
            "html_url": f"{html}/blob/{repo.default_branch}/{run.path}",
            "id": run.workflow_id,
            "name": run.name,
            "node_id": node_id("Workflow", run.workflow_id),
            "path": run.path,
            "state": "active",
            "updated_at": iso(repo.created_at),
            "url": f"{repo_base}/actions/workflows/{run.workflow_id}",
        }

    def job(self, *, repo: Repository, owner: Account, run: WorkflowRun, job: WorkflowJob) -> Json:
        repo_base = f"{self.api}/repos/{owner.login}/{repo.name}"
        return {
            "id": job.id,
            "run_id": run.id,
            "run_url": f"{repo_base}/actions/runs/{run.id}",
            "run_attempt": 1,
            "node_id": node_id("CheckRun", job.id),
            "head_sha": run.head_sha,
            "url": f"{repo_base}/actions/jobs/{job.id}",
            "html_url": f"{self.html}/{owner.login}/{repo.name}/actions/runs/{run.id}/job/{job.id}",
            "status": job.status,
            "conclusion": job.conclusion,
            "started_at": iso(job.started_at),
            "completed_at": iso(job.completed_at),
            "name": job.name,
            "steps": [],
            "check_run_url": f"{repo_base}/check-runs/{job.id}",
            "labels": ["ubuntu-latest"],
            "runner_id": 1,
            "runner_name": "sim-runner",
            "runner_group_id": 1,
            "runner_group_name": "Default",
        }

    # -- hooks and deliveries -----------------------------------------------------------------
    def hook(self, *, repo_base: str, hook: Hook) -> Json:
        url = f"{repo_base}/hooks/{hook.id}"
        config: Json = {"url": hook.url, "content_type": hook.content_type, "insecure_ssl": "0"}
        if hook.secret:
            config["secret"] = "********"  # GitHub never echoes a secret back.
        return {
            "type": "Repository",
            "id": hook.id,
            "name": "web",
            "active": hook.active,
            "events": list(hook.events),
            "config": config,
            "updated_at": iso(hook.updated_at),
            "created_at": iso(hook.created_at),
            "url": url,
            "test_url": f"{url}/test",
            "ping_url": f"{url}/pings",
            "deliveries_url": f"{url}/deliveries",
            "last_response": {
                "code": hook.last_status_code,
                "status": "unused" if hook.last_status_code is None else "active",
                "message": None,
            },
        }

    def delivery_item(self, delivery: Delivery) -> Json:
        return {
            "id": delivery.id,
            "guid": delivery.guid,
            "delivered_at": iso(delivery.delivered_at),
            "redelivery": delivery.redelivery,
            "duration": round(delivery.duration, 3),
            "status": delivery.status,
            "status_code": delivery.status_code,
            "event": delivery.event,
            "action": delivery.action,
            "installation_id": delivery.installation_id,
            "repository_id": delivery.repository_id,
        }

    def delivery(self, delivery: Delivery, payload: Json) -> Json:
        return {
            **self.delivery_item(delivery),
            "url": delivery.url,
            "request": {"headers": dict(delivery.request_headers), "payload": payload},
            "response": {
                "headers": dict(delivery.response_headers),
                "payload": delivery.response_body,
            },
        }


def blob_sha(seed: str) -> str:
    return hashlib.sha1(seed.encode(), usedforsecurity=False).hexdigest()
