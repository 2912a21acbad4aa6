"""Fixtures shared by the whole suite.

Shared reference material (real webhook payloads, GitHub's schemas, datasets) lives in `../shared`
next to the repository; tests read it but the project never depends on it at run time.
"""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = REPO_ROOT.parent / "shared"
WEBHOOK_EXAMPLES = (
    SHARED_DIR / "fixtures" / "github-webhooks" / "payload-examples" / "api.github.com"
)
WEBHOOK_SCHEMAS = SHARED_DIR / "fixtures" / "github-webhooks" / "payload-schemas" / "api.github.com"


@pytest.fixture(scope="session")
def shared_dir() -> Path:
    if not SHARED_DIR.is_dir():
        pytest.fail(f"shared reference material not found at {SHARED_DIR}")
    return SHARED_DIR
