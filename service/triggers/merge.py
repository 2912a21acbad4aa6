"""A repository's `.github/hookwise.yml` on top of the central config.

A repository may add automations, replace a central one by defining one with the same name (to
tune its filters or options), and turn central ones off with `disable: [name, …]`. The central
config has the last word: an automation marked `locked: true` there can be neither replaced nor
disabled, and the attempt is reported back rather than silently ignored.
"""

from __future__ import annotations

from dataclasses import dataclass

from service.triggers.config import Automation, Config


@dataclass(frozen=True, slots=True)
class Merged:
    config: Config
    notes: tuple[str, ...]  # what the repository asked for and did not get


def merge_configs(central: Config, repo: Config) -> Merged:
    notes: list[str] = []
    central_by_name = {a.name: a for a in central.automations}
    replacements: dict[str, Automation] = {}
    additions: list[Automation] = []
    for automation in repo.automations:
        base = central_by_name.get(automation.name)
        if base is not None and base.locked:
            notes.append(f"automation {automation.name!r} is locked by the central config")
        elif base is not None:
            replacements[automation.name] = automation
        else:
            additions.append(automation)
    disabled: set[str] = set()
    for name in sorted(repo.disable):
        base = central_by_name.get(name)
        if base is None:
            notes.append(f"disable: no central automation named {name!r}")
        elif base.locked:
            notes.append(f"automation {name!r} is locked by the central config")
        else:
            disabled.add(name)
    automations = tuple(
        replacements.get(a.name, a) for a in central.automations if a.name not in disabled
    ) + tuple(additions)
    merged = Config(
        version=central.version,
        automations=automations,
        source=f"{central.source} + {repo.source}",
    )
    return Merged(config=merged, notes=tuple(notes))
