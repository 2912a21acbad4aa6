"""Intake benchmark.

    python -m bench.intake [--duration 10] [--connections 64] [--rate 500] [--rounds 3]

Drives `POST /webhooks/github` with a signed real `pull_request` payload and a fresh delivery id
per request, against (1) a bare FastAPI route that only reads the body and answers 202, and (2)
Hookwise with Redis as broker, on SQLite and on PostgreSQL — all in the same run, each server a
single uvicorn process. Two loads: saturation (wrk, closed loop) and a fixed 500 requests/second
(open loop, latency from the scheduled start). The three targets take turns for `--rounds`
rounds, and the last table gives each one's medians. Needs `wrk` (Debian package) and the local
PostgreSQL and Redis.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.intake.load import fixed_rate
from service.signatures import sign

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT.parent / "shared/fixtures/github-webhooks/payload-examples/api.github.com"
PAYLOAD = EXAMPLES / "pull_request" / "opened.payload.json"
SECRET = "bench-secret"
CONFIG = """\
version: 1
automations:
  - name: review-prs
    on:
      pull_request: {types: [opened, synchronize]}
    if: "!pull_request.draft"
    agent: notify
    with: {url: "http://127.0.0.1:9/unused"}
"""
LUA = """\
-- Every wrk thread has its own Lua state: number the threads so delivery ids never repeat.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  prefix = "%s-" .. tid .. "-"
  counter = 0
end
request = function()
  counter = counter + 1
  wrk.headers["X-GitHub-Delivery"] = prefix .. counter
  return wrk.format("POST", "/webhooks/github")
end
"""


@dataclass
class Figures:
    name: str
    saturation_rps: float = 0.0
    saturation_p50_ms: float = 0.0
    saturation_p99_ms: float = 0.0
    saturation_max_ms: float = 0.0
    saturation_non_2xx: int = 0
    fixed_p50_ms: float = 0.0
    fixed_p99_ms: float = 0.0
    fixed_max_ms: float = 0.0
    fixed_errors: int = 0
    fixed_error_detail: str = ""
    cpu_ms_per_request: float = 0.0


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(factory: str, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            factory,
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
            return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def run_wrk(
    port: int, body: bytes, *, duration: float, connections: int, tag: str, tmp: Path
) -> dict[str, float]:
    script = tmp / f"{tag}.lua"
    script.write_text(LUA % tag)
    body_file = tmp / "body.json"
    body_file.write_bytes(body)
    script.write_text(
        script.read_text()
        + f'wrk.body = io.open("{body_file}", "rb"):read("*all")\n'
        + 'wrk.headers["Content-Type"] = "application/json"\n'
        + 'wrk.headers["X-GitHub-Event"] = "pull_request"\n'
        + f'wrk.headers["X-Hub-Signature-256"] = "{sign(body, SECRET)}"\n'
    )
    out = subprocess.run(
        [
            "wrk",
            "-t2",
            f"-c{connections}",
            f"-d{int(duration)}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}/webhooks/github",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    figures = {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))}  # type: ignore[union-attr]
    for pct in ("50", "99"):
        figures[f"p{pct}"] = _ms(re.search(rf"\s{pct}%\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    figures["max"] = _ms(re.search(r"Latency\s+\S+\s+\S+\s+(\S+)", out).group(1))  # type: ignore[union-attr]
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    figures["non_2xx"] = float(non_2xx.group(1)) if non_2xx else 0.0
    return figures


def run_fixed(
    port: int, body: bytes, *, rate: float, duration: float, tag: str
) -> tuple[dict[str, float], str]:
    """Latency figures, and what went wrong if anything did (statuses other than 2xx,
    connection errors by kind)."""
    signature = sign(body, SECRET)

    def make_request(index: int) -> bytes:
        head = (
            f"POST /webhooks/github HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nX-GitHub-Event: pull_request\r\n"
            f"X-GitHub-Delivery: {tag}-fixed-{index}\r\nX-Hub-Signature-256: {signature}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        )
        return head.encode() + body

    result = asyncio.run(
        fixed_rate(
            host="127.0.0.1", port=port, rate=rate, duration=duration, make_request=make_request
        )
    )
    latencies = sorted(result.latencies)
    ok = sum(n for status, n in result.statuses.items() if 200 <= status < 300)
    detail = ", ".join(
        [f"{n}x HTTP {status}" for status, n in result.statuses.items() if not 200 <= status < 300]
        + [f"{n}x {kind}" for kind, n in result.error_kinds.items()]
    )
    return {
        "p50": statistics.median(latencies) * 1000,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "max": latencies[-1] * 1000,
        "errors": float(result.errors + len(latencies) - ok),
    }, detail


def measure(
    name: str, factory: str, env: dict[str, str], args: argparse.Namespace, tmp: Path
) -> Figures:
    body = PAYLOAD.read_bytes()
    port = free_port()
    server = start_server(factory, env, port)
    try:
        tag = f"{name}-{secrets.token_hex(3)}"
        run_wrk(port, body, duration=2, connections=args.connections, tag=tag + "-warm", tmp=tmp)
        sat = run_wrk(
            port, body, duration=args.duration, connections=args.connections, tag=tag, tmp=tmp
        )
        time.sleep(1)
        cpu_before = process_cpu_seconds(server.pid)
        fixed, fixed_error_detail = run_fixed(
            port, body, rate=args.rate, duration=args.duration, tag=tag
        )
        time.sleep(0.5)  # let the last publishes finish
        cpu_per_request = (process_cpu_seconds(server.pid) - cpu_before) / (
            args.rate * args.duration
        )
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(30)
    return Figures(
        name=name,
        saturation_rps=sat["rps"],
        saturation_p50_ms=sat["p50"],
        saturation_p99_ms=sat["p99"],
        saturation_max_ms=sat["max"],
        saturation_non_2xx=int(sat["non_2xx"]),
        fixed_p50_ms=fixed["p50"],
        fixed_p99_ms=fixed["p99"],
        fixed_max_ms=fixed["max"],
        fixed_errors=int(fixed["errors"]),
        fixed_error_detail=fixed_error_detail,
        cpu_ms_per_request=cpu_per_request * 1000,
    )


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux): unlike wall time, it does not depend on what
    else the machine is doing."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def postgres_database() -> str:
    import psycopg

    name = f"hookwise_bench_{secrets.token_hex(3)}"
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rate", type=float, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="every target once per round")
    parser.add_argument("--broker", default="redis://127.0.0.1:6379/13")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required (apt-get install wrk)")
    from service.store.db import create_db_engine, upgrade

    rounds: list[list[Figures]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "hookwise.yml").write_text(CONFIG)
        base_env = {k: v for k, v in os.environ.items() if not k.startswith("HOOKWISE_")}
        pg_url = postgres_database()
        targets: list[tuple[str, str, dict[str, str]]] = [
            ("bare FastAPI 202", "bench.intake.apps:bare_app", base_env)
        ]
        try:
            for label, url in (
                ("hookwise, SQLite + Redis", f"sqlite:///{tmp / 'bench.sqlite'}"),
                ("hookwise, PostgreSQL + Redis", pg_url),
            ):
                engine = create_db_engine(url)
                upgrade(engine)
                engine.dispose()
                env = {
                    **base_env,
                    "HOOKWISE_DATABASE_URL": url,
                    "HOOKWISE_BROKER_URL": args.broker,
                    "HOOKWISE_WEBHOOK_SECRET": SECRET,
                    "HOOKWISE_CONFIG": str(tmp / "hookwise.yml"),
                    "HOOKWISE_DATA_DIR": str(tmp / "var"),
                }
                targets.append((label, "bench.intake.apps:hookwise_app", env))
            # The targets take turns, so that a slow minute of the machine hurts each alike.
            for number in range(1, args.rounds + 1):
                results = [measure(*target, args, tmp) for target in targets]
                rounds.append(results)
                print(f"\nround {number} of {args.rounds}")
                print_table(results, args)
        finally:
            drop_postgres(pg_url)
            import redis

            redis.Redis.from_url(args.broker).flushdb()
    if len(rounds) > 1:
        print(f"\nmedian of {len(rounds)} rounds (× bare: the median of each round's ratio)")
        ratios = [
            statistics.median(
                results[n].saturation_rps / results[0].saturation_rps for results in rounds
            )
            for n in range(len(rounds[0]))
        ]
        medians = [median_figures(runs) for runs in zip(*rounds, strict=True)]
        print_table(medians, args, ratios=ratios)


def median_figures(runs: tuple[Figures, ...]) -> Figures:
    """One target's rounds in one row: medians, except the worst of maxima and all errors."""

    def middle(name: str) -> float:
        return float(statistics.median(getattr(run, name) for run in runs))

    return Figures(
        name=runs[0].name,
        saturation_rps=middle("saturation_rps"),
        saturation_p50_ms=middle("saturation_p50_ms"),
        saturation_p99_ms=middle("saturation_p99_ms"),
        saturation_max_ms=max(run.saturation_max_ms for run in runs),
        saturation_non_2xx=sum(run.saturation_non_2xx for run in runs),
        fixed_p50_ms=middle("fixed_p50_ms"),
        fixed_p99_ms=middle("fixed_p99_ms"),
        fixed_max_ms=max(run.fixed_max_ms for run in runs),
        fixed_errors=sum(run.fixed_errors for run in runs),
        fixed_error_detail="; ".join(
            run.fixed_error_detail for run in runs if run.fixed_error_detail
        ),
        cpu_ms_per_request=middle("cpu_ms_per_request"),
    )


def print_table(
    results: list[Figures], args: argparse.Namespace, *, ratios: list[float] | None = None
) -> None:
    """One row per target; `ratios` to the bare route default to this table's own."""
    bare = results[0].saturation_rps
    ratios = ratios or [r.saturation_rps / bare for r in results]
    print(
        f"\nsaturation: wrk -t2 -c{args.connections} -d{int(args.duration)}s; "
        f"fixed: {args.rate:.0f} req/s open loop for {int(args.duration)}s; "
        f"payload {PAYLOAD.stat().st_size} bytes\n"
    )
    header = (
        f"{'target':32} {'req/s':>8} {'× bare':>7} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>8} "
        f"{'non2xx':>6} | {'@rate p50':>9} {'p99':>7} {'max':>8} {'err':>4} | {'CPU ms/req':>10}"
    )
    print(header)
    print("-" * len(header))
    for r, ratio in zip(results, ratios, strict=True):
        print(
            f"{r.name:32} {r.saturation_rps:8.0f} {ratio:7.2f} "
            f"{r.saturation_p50_ms:7.1f} {r.saturation_p99_ms:7.1f} {r.saturation_max_ms:8.1f} "
            f"{r.saturation_non_2xx:6d} | {r.fixed_p50_ms:9.1f} {r.fixed_p99_ms:7.1f} "
            f"{r.fixed_max_ms:8.1f} {r.fixed_errors:4d} | {r.cpu_ms_per_request:10.3f}"
        )
    for r in results:
        if r.fixed_error_detail:
            print(f"errors at the fixed rate, {r.name}: {r.fixed_error_detail}")


if __name__ == "__main__":
    main()
