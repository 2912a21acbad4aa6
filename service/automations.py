"""The central automation config and Hookwise's own identity, as both processes load them."""

from __future__ import annotations

from pathlib import Path

from service.settings import Settings
from service.triggers import Config, Identity, load_config, load_config_file
from workers.agents.registry import agent_options

EMPTY_CONFIG = "version: 1\nautomations: []\n"


def load_central_config(path: Path | None) -> Config:
    """The central automations; a broken file raises `ConfigError` listing every problem."""
    if path is None:
        return load_config(EMPTY_CONFIG, source="<empty>", agents=agent_options())
    return load_config_file(path, agents=agent_options())


def identity_for(settings: Settings) -> Identity:
    """Who Hookwise is on GitHub, so that its own events never trigger it (loop guard)."""
    logins = frozenset({settings.bot_login}) if settings.bot_login else frozenset()
    return Identity(logins=logins, app_id=settings.github_app_id)
