"""Fixtures for the CI-log core tests: paths into the committed corpus."""

from __future__ import annotations

from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parents[4] / "tests" / "fixtures" / "ci_logs" / "corpus"


@pytest.fixture(scope="session")
def corpus() -> Path:
    return CORPUS
