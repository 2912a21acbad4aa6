from __future__ import annotations

import json
import logging

import pytest
import structlog

from service.logs import configure_logging


@pytest.fixture(autouse=True)
def _restore_logging() -> object:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield None
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.reset_defaults()


def test_json_lines_carry_context_and_never_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    log = structlog.get_logger("test")
    structlog.contextvars.bind_contextvars(delivery_id="d-1", job_id="j-1")
    try:
        log.info("delivery accepted", signature="sha256=abc", webhook_secret="s3cret", jobs=1)
    finally:
        structlog.contextvars.clear_contextvars()
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "delivery accepted"
    assert line["delivery_id"] == "d-1"
    assert line["job_id"] == "j-1"
    assert line["signature"] == "[redacted]"
    assert line["webhook_secret"] == "[redacted]"
    assert "s3cret" not in json.dumps(line)


def test_stdlib_loggers_are_json_too(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    logging.getLogger("celery.worker").info("worker ready")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event"] == "worker ready"
    assert line["logger"] == "celery.worker"
