"""Start the simulator as a real subprocess on a free port, for tests and the demo.

with run_simulator(users={"alice": "tok-alice"}) as sim:
    httpx.get(f"{sim.api_url}/user", headers={"Authorization": "token tok-alice"})
    sim.admin.create_repo("alice", "demo")
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import jwt

from service.github_sim.admin import SimAdmin

DEFAULT_APP_ID = 4242
STARTUP_TIMEOUT_S = 20.0


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def generate_app_key() -> str:
    """A fresh RSA private key in PEM, like the one GitHub lets an App owner download."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    ).decode()


@dataclass
class SimHandle:
    """A running simulator: where it answers, how to drive it, and the credentials it accepts."""

    api_url: str
    admin: SimAdmin
    users: dict[str, str]
    """Login to personal token."""
    app_id: int
    app_private_key_pem: str
    app_key_path: Path
    app_slug: str
    state_file: Path | None
    process: subprocess.Popen[bytes]
    log_path: Path
    _clients: list[httpx.Client] = field(default_factory=list)

    @property
    def bot_login(self) -> str:
        return f"{self.app_slug}[bot]"

    def token(self, login: str) -> str:
        return self.users[login]

    def app_jwt(self, *, issued_at: float | None = None, lifetime_s: int = 540) -> str:
        """An App JWT as GitHub documents it: RS256, iss = app id, iat backdated 60 s."""
        now = time.time() if issued_at is None else issued_at
        claims = {"iat": int(now) - 60, "exp": int(now) + lifetime_s, "iss": str(self.app_id)}
        return jwt.encode(claims, self.app_private_key_pem, algorithm="RS256")

    def installation_token(self, installation_id: int) -> str:
        response = httpx.post(
            f"{self.api_url}/app/installations/{installation_id}/access_tokens",
            headers={"Authorization": f"Bearer {self.app_jwt()}"},
            timeout=10,
        )
        response.raise_for_status()
        return str(response.json()["token"])

    def client(self, token: str | None = None) -> httpx.Client:
        """An httpx client on the API with `Authorization: token ...` (closed with the handle)."""
        headers = {"Accept": "application/vnd.github+json"}
        if token is not None:
            headers["Authorization"] = f"token {token}"
        client = httpx.Client(base_url=self.api_url, headers=headers, timeout=30)
        self._clients.append(client)
        return client

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def close_clients(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"github-sim exited with {process.returncode}:\n{log_path.read_text()}"
            )
        try:
            if httpx.get(f"{url}/_sim/health", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"github-sim did not answer within {STARTUP_TIMEOUT_S} s")


@contextmanager
def run_simulator(
    *,
    users: dict[str, str] | None = None,
    app_id: int = DEFAULT_APP_ID,
    app_slug: str = "hookwise-sim",
    app_private_key_pem: str | None = None,
    state_file: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
) -> Iterator[SimHandle]:
    """Run `hookwise github-sim` in a subprocess until the block ends; yields its handle."""
    chosen_users = {"octocat": "octocat-token"} if users is None else dict(users)
    key_pem = app_private_key_pem or generate_app_key()
    chosen_port = port or free_port(host)
    with tempfile.TemporaryDirectory(prefix="github-sim-") as scratch:
        key_path = Path(scratch) / "app-key.pem"
        key_path.write_text(key_pem, encoding="utf-8")
        log_path = Path(scratch) / "github-sim.log"
        command = [
            sys.executable,
            "-m",
            "service.github_sim",
            "--host",
            host,
            "--port",
            str(chosen_port),
            "--app-id",
            str(app_id),
            "--app-slug",
            app_slug,
            "--app-key",
            str(key_path),
        ]
        for login, token in chosen_users.items():
            command += ["--user", f"{login}={token}"]
        if state_file is not None:
            command += ["--state", str(state_file)]
        api_url = f"http://{host}:{chosen_port}"
        with log_path.open("wb") as log_stream:
            process = subprocess.Popen(
                command,
                stdout=log_stream,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            admin = SimAdmin(api_url)
            handle = SimHandle(
                api_url=api_url,
                admin=admin,
                users=chosen_users,
                app_id=app_id,
                app_private_key_pem=key_pem,
                app_key_path=key_path,
                app_slug=app_slug,
                state_file=state_file,
                process=process,
                log_path=log_path,
            )
            try:
                _wait_until_up(api_url, process, log_path)
                yield handle
            finally:
                handle.close_clients()
                admin.close()
                process.terminate()
                try:
                    process.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(timeout=10)
