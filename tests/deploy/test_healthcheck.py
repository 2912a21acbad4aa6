"""deploy/healthcheck.py, the probe script installed in the image as `hookwise-healthcheck`."""

from __future__ import annotations

import http.server
import importlib.util
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "healthcheck.py"


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    # The script is not part of any package (it is copied into the image as a bare file).
    spec = importlib.util.spec_from_file_location("hookwise_healthcheck", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["/usr/local/bin/python3.11", "/usr/local/bin/hookwise", "beat"], True),
        (["/opt/hookwise/bin/hookwise", "beat"], True),
        (["hookwise", "beat", "--loglevel", "info"], True),
        (["/usr/local/bin/python3.11", "/usr/local/bin/hookwise", "worker"], False),
        (["hookwise"], False),
        # tini (PID 1 in the image) is only the parent; the probe wants the process itself.
        (["tini", "--", "hookwise", "beat"], False),
        # The probe itself mentions `beat` in its own argv.
        (["python3", "/usr/local/bin/hookwise-healthcheck", "process", "beat"], False),
        (["/usr/bin/hookwise-beat"], False),
        ([], False),
    ],
)
def test_runs_subcommand(healthcheck: ModuleType, argv: list[str], expected: bool) -> None:
    assert healthcheck.runs_subcommand(argv, subcommand="beat") is expected


def test_split_cmdline(healthcheck: ModuleType) -> None:
    raw = b"/usr/local/bin/python3.11\x00/usr/local/bin/hookwise\x00beat\x00"
    assert healthcheck.split_cmdline(raw) == [
        "/usr/local/bin/python3.11",
        "/usr/local/bin/hookwise",
        "beat",
    ]


@pytest.fixture
def fake_hookwise(tmp_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A real process whose command line is `python …/hookwise beat`, like the image's console
    script started through its shebang."""
    script = tmp_path / "hookwise"
    script.write_text("import time\ntime.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(script), "beat"])
    try:
        yield process
    finally:
        process.kill()
        process.wait(timeout=10)


def test_process_probe_finds_a_running_subcommand(
    healthcheck: ModuleType, fake_hookwise: subprocess.Popen[bytes]
) -> None:
    proc = Path("/proc")
    # Seen once under a loaded full run: the child was not visible as `hookwise beat` at once.
    # Give it a few seconds rather than assume when its command line appears.
    deadline = time.monotonic() + 10
    while healthcheck.check_process("beat", proc_root=proc) != healthcheck.HEALTHY:
        assert time.monotonic() < deadline, "the running `hookwise beat` was never found"
        time.sleep(0.1)
    assert healthcheck.check_process("worker", proc_root=proc) == healthcheck.UNHEALTHY
    fake_hookwise.kill()
    fake_hookwise.wait(timeout=10)
    assert healthcheck.check_process("beat", proc_root=proc) == healthcheck.UNHEALTHY


def test_process_probe_as_a_command_does_not_match_itself() -> None:
    # Run as the image runs it: a separate process whose own argv contains `process beat`.
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "process", "some-subcommand-nobody-runs"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "no 'hookwise some-subcommand-nobody-runs' process found" in result.stderr


ROUTES = {"/healthz": 200, "/readyz": 503}


class _StatusHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(ROUTES.get(self.path, 404))
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def status_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StatusHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_http_probe_follows_the_status_code(healthcheck: ModuleType, status_server: str) -> None:
    assert healthcheck.check_http(f"{status_server}/healthz", timeout=5) == healthcheck.HEALTHY
    assert healthcheck.check_http(f"{status_server}/readyz", timeout=5) == healthcheck.UNHEALTHY
    assert healthcheck.check_http(f"{status_server}/missing", timeout=5) == healthcheck.UNHEALTHY


def test_http_probe_as_a_command(status_server: str) -> None:
    def run(url: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(SCRIPT), "http", url, "--timeout", "5"],
            capture_output=True,
            text=True,
            timeout=30,
        )

    assert run(f"{status_server}/healthz").returncode == 0
    not_ready = run(f"{status_server}/readyz")
    assert not_ready.returncode == 1
    assert "HTTP 503" in not_ready.stderr


def test_http_probe_reports_a_refused_connection(healthcheck: ModuleType) -> None:
    # Port 1 on loopback: nothing listens there, the connection is refused at once.
    assert healthcheck.check_http("http://127.0.0.1:1/healthz", timeout=2) == healthcheck.UNHEALTHY
