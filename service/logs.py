"""Logging: structlog, JSON lines by default, carrying delivery_id/job_id from context.

Configured by the entry points (never at import). Values under keys that look like credentials are
redacted, as a second line of defence: no code path should log them in the first place.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import orjson
import structlog

_SENSITIVE = re.compile(r"secret|token|signature|authorization|password|private_key|api_key", re.I)
# Credentials that may hide inside a message or an error text rather than under a telling key:
# webhook signatures, bearer tokens, GitHub tokens, and passwords in URLs.
_SENSITIVE_TEXT = re.compile(
    r"sha(?:1|256)=[0-9a-fA-F]{16,}"
    r"|(?i:bearer|token)\s+[A-Za-z0-9._~+/=-]{8,}"
    r"|\b(?:ghp|gho|ghu|ghs|ghr|github_pat)_[A-Za-z0-9_]{16,}"
    r"|(?<=://)[^/\s:@]+:[^/\s@]+(?=@)"
)
# Libraries that log every request's full URL at INFO. A notify URL is a credential (a Slack or
# Teams incoming-webhook URL grants posting to the channel), so only their warnings get through.
_URL_LOGGERS = ("httpx", "httpcore", "urllib3")


def redact(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in list(event_dict.items()):
        if _SENSITIVE.search(key):
            event_dict[key] = "[redacted]"
        elif isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict


def redact_text(text: str) -> str:
    """`text` with anything that looks like a credential replaced."""
    return _SENSITIVE_TEXT.sub("[redacted]", text)


def _dumps(value: Any, **_: Any) -> str:
    return orjson.dumps(value, default=str).decode()


def configure_logging(*, level: str = "INFO", json: bool = True) -> None:
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(serializer=_dumps)
        if json
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        # Dropped levels are dropped first: otherwise every debug call runs the whole chain
        # (context merge, timestamp, redaction) only for the logging module to discard it.
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # uvicorn's access log repeats what our own delivery log line says, with less context.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
    for name in _URL_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
