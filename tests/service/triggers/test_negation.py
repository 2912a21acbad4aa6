from __future__ import annotations

import json

import pytest

from service.triggers.expressions import Condition
from tests.conftest import WEBHOOK_EXAMPLES

PR = json.loads((WEBHOOK_EXAMPLES / "pull_request" / "opened.payload.json").read_bytes())


@pytest.mark.parametrize(
    ("source", "draft", "holds"),
    [
        # As in GitHub Actions (and the documented example), a leading `!` negates the whole path.
        ("!pull_request.draft", False, True),
        ("!pull_request.draft", True, False),
        ("!(pull_request.draft)", False, True),
        ("!(pull_request.draft)", True, False),
        ("!pull_request.labels[0]", False, True),
        ("pull_request.draft", True, True),
        ("!pull_request.draft && pull_request.state == 'open'", False, True),
        ("!pull_request.draft && pull_request.state == 'open'", True, False),
    ],
)
def test_leading_negation_applies_to_the_whole_path(source: str, draft: bool, holds: bool) -> None:
    payload = {**PR, "pull_request": {**PR["pull_request"], "draft": draft, "labels": []}}
    assert (Condition.compile(source).check(payload) is None) is holds
