from __future__ import annotations

import tomllib
from collections import Counter
from importlib import resources
from pathlib import Path

import pytest

from workers.agents.triage.issue_type.labels import TypeLabels
from workers.agents.triage.issue_type.model import LabelledIssue
from workers.agents.triage.issue_type.prior import CORPUS_RESOURCE, prior_model, shipped_corpus

REPO_ROOT = Path(__file__).resolve().parents[4]


def test_the_shipped_corpus_is_package_data() -> None:
    package = "workers.agents.triage.issue_type"
    assert resources.files(package).joinpath(CORPUS_RESOURCE).is_file()
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["*"]
    assert "*" + CORPUS_RESOURCE[CORPUS_RESOURCE.rindex(".") :] in globs


def test_the_shipped_corpus_is_the_balanced_nlbse_training_split() -> None:
    corpus = shipped_corpus()
    assert len(corpus) == 1500
    assert Counter(i.labels for i in corpus) == {
        ("bug",): 500,
        ("feature",): 500,
        ("question",): 500,
    }
    assert len({i.repo for i in corpus}) == 5


@pytest.mark.slow
def test_the_prior_model_of_the_shipped_corpus_predicts_for_another_repository(
    shared_dir: Path,
) -> None:
    labels = TypeLabels.of(
        ["type: bug", "type: enhancement", "type: support"],
        {"type: bug": "bug", "type: enhancement": "feature", "type: support": "question"},
    )
    model = prior_model(labels)
    assert model.summary.source == "prior"
    # Held out one corpus repository at a time, i.e. measured on repositories it had not seen.
    assert model.summary.cv_macro_f1 > 0.45
    assert 0.0 < model.threshold <= 1.01
    issues = [
        LabelledIssue(
            "App crashes with TypeError on startup",
            "Steps to reproduce: run `app start`. Expected: it starts. Actual: TypeError: x is "
            "undefined, stack trace below.",
            (),
        ),
        LabelledIssue(
            "Feature request: add support for dark mode",
            "It would be nice to have an option to switch the UI to a dark theme.",
            (),
        ),
        LabelledIssue(
            "How do I configure the proxy?",
            "I could not find in the docs how to set a proxy. Can someone explain how to do this?",
            (),
        ),
    ]
    predictions = model.predict(issues)
    assert [p.label for p in predictions] == list(labels.names)
    assert all(p.source == "prior" for p in predictions)
