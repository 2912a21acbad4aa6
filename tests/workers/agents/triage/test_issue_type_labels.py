from __future__ import annotations

import pytest

from workers.agents.triage.issue_type.labels import TypeLabels


def test_canonical_names_map_to_themselves_by_default() -> None:
    labels = TypeLabels.of(["bug", "feature", "docs"])
    assert dict(labels.canonical) == {"bug": "bug", "feature": "feature"}
    assert labels.from_canonical("bug") == "bug"
    assert labels.from_canonical("question") is None


def test_repository_names_map_through_the_configured_mapping() -> None:
    labels = TypeLabels.of(["kind/bug", "kind/feature"], {"kind/bug": "bug"})
    assert labels.from_canonical("bug") == "kind/bug"
    assert labels.from_canonical("feature") is None
    assert labels.index("kind/feature") == 1


@pytest.mark.parametrize(
    ("names", "canonical", "message"),
    [
        (["bug"], {}, "at least two"),
        (["bug", "bug"], {}, "duplicate"),
        (["a", "b"], {"c": "bug"}, "not configured"),
        (["a", "b"], {"a": "defect"}, "canonical types"),
        (["a", "b"], {"a": "bug", "b": "bug"}, "same canonical"),
    ],
)
def test_invalid_configurations_are_refused(
    names: list[str], canonical: dict[str, str], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TypeLabels.of(names, canonical)
