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


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("bad X-Hub-Signature-256 sha256=" + "ab" * 32, "ab" * 32),
        ("sent Authorization: Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl"),
        ("header Authorization: token ghs_16CharsOrMoreXYZ", "16CharsOrMoreXYZ"),
        ("cloning with github_pat_11ABCDEFG0123456789_abcdef", "11ABCDEFG0123456789"),
        ("connect postgresql+psycopg://hookwise:hunter2@db:5432/hookwise", "hunter2"),
    ],
)
def test_credentials_inside_messages_are_redacted(
    capsys: pytest.CaptureFixture[str], text: str, hidden: str
) -> None:
    configure_logging(level="INFO", json=True)
    structlog.get_logger("test").warning(text, detail=text)
    logging.getLogger("some.library").warning(text)
    lines = [json.loads(line) for line in capsys.readouterr().err.strip().splitlines()]
    assert len(lines) == 2
    assert all("[redacted]" in line["event"] for line in lines)
    assert hidden not in json.dumps(lines)


def test_ordinary_text_is_left_alone(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging(level="INFO", json=True)
    text = "job finished: notify https://chat.example: HTTP 404 (token expired)"
    structlog.get_logger("test").info(text)
    assert json.loads(capsys.readouterr().err.strip())["event"] == text


def test_request_urls_of_http_libraries_are_not_logged(capsys: pytest.CaptureFixture[str]) -> None:
    # httpx logs every request's full URL at INFO; a notify URL is itself a credential.
    configure_logging(level="INFO", json=True)
    logging.getLogger("httpx").info("HTTP Request: POST https://hooks.slack.com/services/T/B/X")
    assert "hooks.slack.com" not in capsys.readouterr().err


def test_a_dropped_level_never_runs_the_processors(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    configure_logging(level="INFO", json=True)
    redacted: list[str] = []
    monkeypatch.setattr("service.logs.redact_text", lambda text: redacted.append(text) or text)
    log = structlog.get_logger("test")
    log.debug("not shown", detail="quiet")
    log.info("shown", detail="loud")
    lines = capsys.readouterr().err.strip().splitlines()
    assert [json.loads(line)["event"] for line in lines] == ["shown"]
    assert "quiet" not in redacted
    assert "loud" in redacted
