"""The simulator through PyGithub, the client Hookwise's workers use: App auth to publishing."""

from __future__ import annotations

import pytest
from github import Auth, Github, GithubException, GithubIntegration

from service.github_sim.testing import SimHandle


def test_pygithub_app_flow_round_trip(sim: SimHandle) -> None:
    sim.admin.create_repo("alice", "demo", files={"app.py": "a\nb\nc\n"})
    installation_id = sim.admin.create_installation("alice")
    sim.admin.open_pull_request(
        "alice", "demo", title="Change b", head="b", author="bob", files={"app.py": "a\nB\nc\n"}
    )
    app_auth = Auth.AppAuth(sim.app_id, sim.app_private_key_pem)
    integration = GithubIntegration(auth=app_auth, base_url=sim.api_url)
    assert integration.get_repo_installation("alice", "demo").id == installation_id
    # PyGithub spaces requests (0.25 s) and writes (1 s) by default; the simulator needs no pause.
    client = Github(
        auth=Auth.AppInstallationAuth(app_auth, installation_id),
        base_url=sim.api_url,
        seconds_between_requests=0,
        seconds_between_writes=0,
    )
    repo = client.get_repo("alice/demo")

    issue = repo.create_issue(title="Hello", body="body")
    comment = issue.create_comment("first")
    comment.edit("edited")
    issue.add_to_labels("triaged")
    issue.create_reaction("eyes")
    pull = repo.get_pull(1)
    review = pull.create_review(
        body="LGTM", event="COMMENT", comments=[{"path": "app.py", "line": 2, "body": "nice"}]
    )
    with pytest.raises(GithubException) as outside:
        pull.create_review(event="COMMENT", comments=[{"path": "app.py", "line": 9, "body": "x"}])
    check = repo.create_check_run(
        name="hookwise", head_sha=pull.head.sha, status="completed", conclusion="neutral"
    )

    assert comment.user.login == f"{sim.app_slug}[bot]"
    assert [item.body for item in repo.get_issue(issue.number).get_comments()] == ["edited"]
    assert [label.name for label in repo.get_issue(issue.number).labels] == ["triaged"]
    assert [item.content for item in issue.get_reactions()] == ["eyes"]
    assert review.state == "COMMENTED"
    assert outside.value.status == 422
    assert check.conclusion == "neutral"
    assert [item.number for item in repo.get_commit(pull.head.sha).get_pulls()] == [1]
