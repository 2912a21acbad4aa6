"""The type labels a repository uses, and how they map to the shared types bug/feature/question."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

# The types of the shipped background corpus (NLBSE'24); a repository's label names map onto them.
CANONICAL_TYPES = ("bug", "feature", "question")


class LabelConfigError(ValueError):
    """The configured type labels cannot make a classifier (too few, repeated, badly mapped)."""


@dataclass(frozen=True, slots=True)
class TypeLabels:
    """The repository's type label names (from its config), in a fixed order, and for each the
    canonical type it means, when it means one (`{"kind/bug": "bug"}`). Labels without a canonical
    type are learned from the repository's own issues only."""

    names: tuple[str, ...]
    canonical: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if len(self.names) < 2:
            raise LabelConfigError("a type classifier needs at least two labels")
        if len(set(self.names)) != len(self.names):
            raise LabelConfigError(f"duplicate label names: {self.names}")
        unknown = set(self.canonical) - set(self.names)
        if unknown:
            raise LabelConfigError(f"mapping for labels not configured: {sorted(unknown)}")
        bad = {label: kind for label, kind in self.canonical.items() if kind not in CANONICAL_TYPES}
        if bad:
            raise LabelConfigError(f"canonical types must be among {CANONICAL_TYPES}: {bad}")
        targets = list(self.canonical.values())
        if len(set(targets)) != len(targets):
            raise LabelConfigError("two labels map to the same canonical type")
        object.__setattr__(self, "canonical", MappingProxyType(dict(self.canonical)))

    @classmethod
    def of(cls, names: Sequence[str], canonical: Mapping[str, str] | None = None) -> TypeLabels:
        """Labels `names`; without a mapping, names that are canonical types map to themselves."""
        if canonical is None:
            canonical = {name: name for name in names if name in CANONICAL_TYPES}
        return cls(names=tuple(names), canonical=dict(canonical))

    def from_canonical(self, kind: str) -> str | None:
        """The repository's label for a canonical type, or None when it has none."""
        for name, mapped in self.canonical.items():
            if mapped == kind:
                return name
        return None

    def index(self, name: str) -> int:
        return self.names.index(name)
