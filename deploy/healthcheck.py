#!/usr/bin/env python3
"""Container health probes for Hookwise, standard library only.

Installed in the image as `hookwise-healthcheck`. The image has Python but no curl or procps, and a
probe must not import Hookwise itself (a probe that loads the app is slow and fails for the wrong
reasons), so this script stays self-contained.

    hookwise-healthcheck http http://127.0.0.1:8000/readyz     # web: HTTP 2xx within the timeout
    hookwise-healthcheck process beat                          # beat: `hookwise beat` is running

The Celery worker is probed with `celery inspect ping` instead: only a round trip through the broker
shows that the worker still consumes.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path

PROGRAM = "hookwise"
HEALTHY = 0
UNHEALTHY = 1


def split_cmdline(raw: bytes) -> list[str]:
    """Split the NUL-separated contents of /proc/PID/cmdline into argv."""
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def runs_subcommand(argv: Sequence[str], *, subcommand: str) -> bool:
    """Whether argv is `hookwise SUBCOMMAND …`.

    A console script started through its shebang shows up as `python /path/hookwise beat`, and one
    started directly as `/path/hookwise beat`, so the program may be argv[0] or argv[1]. Anything
    further along (`tini -- hookwise beat`, this probe's own `… process beat`) is not the process.
    """
    for position in (0, 1):
        if position + 1 < len(argv) and Path(argv[position]).name == PROGRAM:
            return argv[position + 1] == subcommand
    return False


def process_cmdlines(proc_root: Path, *, exclude_pid: int) -> Iterator[list[str]]:
    for entry in proc_root.iterdir():
        if not entry.name.isdigit() or int(entry.name) == exclude_pid:
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            # The process exited between listing and reading, or belongs to someone else.
            continue
        yield split_cmdline(raw)


def check_process(subcommand: str, *, proc_root: Path) -> int:
    cmdlines = process_cmdlines(proc_root, exclude_pid=os.getpid())
    if any(runs_subcommand(argv, subcommand=subcommand) for argv in cmdlines):
        return HEALTHY
    print(f"no '{PROGRAM} {subcommand}' process found", file=sys.stderr)
    return UNHEALTHY


def check_http(url: str, *, timeout: float) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            status: int = response.status
    except urllib.error.HTTPError as error:
        print(f"{url}: HTTP {error.code}", file=sys.stderr)
        return UNHEALTHY
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        print(f"{url}: {error}", file=sys.stderr)
        return UNHEALTHY
    return HEALTHY if 200 <= status < 300 else UNHEALTHY


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hookwise-healthcheck", description="Container health probes for Hookwise."
    )
    probes = parser.add_subparsers(dest="probe", required=True)
    http = probes.add_parser("http", help="GET a URL; healthy on a 2xx answer")
    http.add_argument("url")
    http.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")
    process = probes.add_parser("process", help="healthy while `hookwise SUBCOMMAND` runs")
    process.add_argument("subcommand")
    process.add_argument("--proc", type=Path, default=Path("/proc"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.probe == "http":
        return check_http(args.url, timeout=args.timeout)
    return check_process(args.subcommand, proc_root=args.proc)


if __name__ == "__main__":
    sys.exit(main())
