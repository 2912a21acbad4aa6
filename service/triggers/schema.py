"""The shape of a config file, as pydantic models (meaning is checked in `loader`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _one_or_many(value: Any) -> Any:
    """Actions accepts a single string wherever a list of strings is expected."""
    return [value] if isinstance(value, str) else value


def expand_concurrency(value: Any) -> Any:
    """Accept Actions' short form `concurrency: group` and its spelling `cancel-in-progress`."""
    if isinstance(value, str):
        return {"group": value}
    if isinstance(value, dict) and "cancel-in-progress" in value:
        renamed = dict(value)
        renamed.setdefault("cancel_in_progress", renamed.pop("cancel-in-progress"))
        return renamed
    return value


StringList = Annotated[list[str], BeforeValidator(_one_or_many)]

PermissionLevel = Literal["read", "triage", "write", "maintain", "admin"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=False)


class EventFilterModel(_Strict):
    """The mapping under one event in `on:`; which keys apply to which event is checked later."""

    types: StringList | None = None
    branches: StringList | None = None
    branches_ignore: StringList | None = Field(default=None, alias="branches-ignore")
    tags: StringList | None = None
    tags_ignore: StringList | None = Field(default=None, alias="tags-ignore")
    paths: StringList | None = None
    paths_ignore: StringList | None = Field(default=None, alias="paths-ignore")
    command: str | None = None
    conclusions: StringList | None = None
    workflows: StringList | None = None


class ConcurrencyModel(_Strict):
    group: str = Field(min_length=1)
    cancel_in_progress: bool = False


class AutomationModel(_Strict):
    name: str = Field(min_length=1)
    description: str | None = None
    enabled: bool = True
    locked: bool = False
    on: Any
    condition: str | None = Field(default=None, alias="if")
    agent: str = Field(min_length=1)
    options: dict[str, Any] | None = Field(default=None, alias="with")
    permission: PermissionLevel | None = None
    concurrency: Annotated[ConcurrencyModel | None, BeforeValidator(expand_concurrency)] = None
    bots: StringList = Field(default_factory=list)


class ConfigModel(_Strict):
    version: Literal[1]
    automations: list[Any]
    disable: StringList = Field(default_factory=list)
