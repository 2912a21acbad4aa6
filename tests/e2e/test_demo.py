"""`hookwise demo` as a newcomer runs it: real processes (simulator, service, embedded worker),
its printed output checked, and nothing left running afterwards, also after a Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service.commands.demo import (
    DemoFailed,
    Service,
    Watch,
    check_outcome,
    demo_automations,
    service_environment,
)

PORT_IN_LINE = re.compile(r"http://127\.0\.0\.1:(\d+)")


def _port_closed(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _ports(output: str) -> list[int]:
    return [int(port) for port in PORT_IN_LINE.findall(output)]


def _processes_under(directory: Path) -> list[str]:
    """Live processes whose working directory or command line is inside `directory`."""
    found: list[str] = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cwd = os.readlink(proc / "cwd")
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue  # gone meanwhile, or not ours to read
        if cwd.startswith(str(directory)) or str(directory) in cmdline:
            found.append(f"{proc.name}: {cmdline}")
    return found


def _start_demo(*args: str, tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path, Path]:
    """The demo in its own process group, like a shell job: a Ctrl-C reaches the demo and the
    simulator it started in the foreground, as in a terminal. Its scratch directories go under
    a TMPDIR of the test's own, so that what it leaves running can be found."""
    log = tmp_path / "demo.log"
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith("HOOKWISE_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "service", "demo", *args],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        env={**env, "PYTHONUNBUFFERED": "1", "TMPDIR": str(scratch)},
        start_new_session=True,
    )
    return process, log, scratch


def _wait_for_line(
    log: Path, text: str, *, process: subprocess.Popen[bytes], timeout: float
) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        output = log.read_text(errors="replace")
        if text in output:
            return output
        if process.poll() is not None:
            pytest.fail(f"demo exited with {process.returncode} before {text!r}:\n{output}")
        time.sleep(0.1)
    pytest.fail(f"no {text!r} within {timeout} s:\n{log.read_text(errors='replace')}")


def test_the_service_environment_is_the_demos_own(tmp_path: Path) -> None:
    from service.commands.demo import Credentials

    env = service_environment(
        base={"PATH": "/bin", "HOOKWISE_BROKER_URL": "redis://prod", "HOOKWISE_CONFIG": "x"},
        data_dir=tmp_path,
        config_path=tmp_path / "hookwise.yml",
        api_url="http://127.0.0.1:1",
        webhook_secret="s",
        api_token="t",
        credentials=Credentials(settings={"HOOKWISE_GITHUB_TOKEN": "tok"}, description=""),
    )
    assert env["PATH"] == "/bin"
    assert "HOOKWISE_BROKER_URL" not in env  # embedded broker, never the caller's
    assert env["HOOKWISE_CONFIG"] == str(tmp_path / "hookwise.yml")
    assert env["HOOKWISE_GITHUB_TOKEN"] == "tok"
    assert env["HOOKWISE_DATA_DIR"] == str(tmp_path)


def test_the_demo_config_loads() -> None:
    assert demo_automations() == ["welcome", "needs-info", "label-by-text"]


def test_the_outcome_names_what_went_wrong(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    log.write_text("last words of the service\n")
    service = Service(process=subprocess.Popen(["true"]), url="http://x", log_path=log)
    service.process.wait()
    finished = {"welcome": "succeeded", "needs-info": "failed", "label-by-text": "failed"}
    cases = [
        (Watch(jobs_total=None), "not every job finished within 60 s:\nlast words of the service"),
        (Watch(jobs_total=3, finished_jobs=finished), "job(s) failed: label-by-text, needs-info"),
        (Watch(jobs_total=0), "every job finished, but no comment arrived on the issue"),
    ]
    for watch, message in cases:
        with pytest.raises(DemoFailed) as raised:
            check_outcome(watch, timeout=60, service=service)
        assert str(raised.value).startswith(message)
    check_outcome(
        Watch(jobs_total=1, finished_jobs={"welcome": "succeeded"}, comment_ids={7}),
        timeout=60,
        service=service,
    )


@pytest.mark.slow
def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    # Token mode here: its set-up (a repository webhook made through the REST API) runs too.
    process, log, scratch = _start_demo("--timeout", "120", "--with-token", tmp_path=tmp_path)
    try:
        _wait_for_line(log, "connected          repository webhook", process=process, timeout=90)
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=40) == 130
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text(errors="replace")
    assert "interrupted; everything the demo started is stopped" in output
    ports = _ports(output)
    assert len(ports) == 2  # the simulator and the service
    assert all(_port_closed(port) for port in ports), output
    assert _processes_under(scratch) == []
    assert list(scratch.iterdir()) == []  # scratch directories removed


@pytest.mark.slow
def test_demo_prints_the_respond_agents_answer(tmp_path: Path) -> None:
    process, log, scratch = _start_demo("--timeout", "90", tmp_path=tmp_path)
    try:
        returncode = process.wait(timeout=150)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    output = log.read_text(errors="replace")
    assert returncode == 0, output
    assert "App webhook → service" in output
    assert output.count("comment by hookwise-sim[bot] after") == 2, output
    assert (
        "  │ Thanks for your first issue here, @new-contributor! A maintainer will reply." in output
    )
    assert "  │ To help us reproduce #1, could you add:" in output
    assert "  │ - The “Steps to reproduce” section of the template was left empty" in output
    assert "  │ - The “Version” section of the template was left empty" in output
    assert "hookwise:automation" not in output  # the sticky marker is hidden, as on GitHub
    for automation in ("welcome", "needs-info", "label-by-text"):
        assert f"  job {automation} succeeded: respond:" in output
    (labels,) = re.findall(r"^labels on #1: (.*)$", output, re.M)
    assert sorted(labels.split(", ")) == ["bug", "first-timer", "needs-info"]
    assert re.search(r"^the whole loop took \d+\.\d s; stopping$", output, re.M)
    assert output.rstrip().endswith("done")
    assert all(_port_closed(port) for port in _ports(output))
    assert _processes_under(scratch) == []
    assert list(scratch.iterdir()) == []
