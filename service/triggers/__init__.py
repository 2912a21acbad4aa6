"""The automation language: load and validate config, match an event to job specs."""

from service.triggers.commands import CommandMatch
from service.triggers.config import Automation, Config, EventTrigger
from service.triggers.errors import ConfigError, ConfigIssue
from service.triggers.globs import PathFilter
from service.triggers.loader import load_config, load_config_file
from service.triggers.matching import Identity, JobSpec, MatchResult, NotMatched, match_event
from service.triggers.pending import PendingChecks, PendingResolver, resolve_pending

__all__ = [
    "Automation",
    "CommandMatch",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "EventTrigger",
    "Identity",
    "JobSpec",
    "MatchResult",
    "NotMatched",
    "PathFilter",
    "PendingChecks",
    "PendingResolver",
    "load_config",
    "load_config_file",
    "match_event",
    "resolve_pending",
]
