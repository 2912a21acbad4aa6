"""Parse one log file in a fresh process and report time and peak memory as JSON.

Run by the benchmark so that the peak resident size belongs to the parse alone, not to the
logs the benchmark built in memory. With no file it only imports, giving the baseline.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path


def main(argv: list[str]) -> int:
    from workers.agents.ci_doctor.registry import parse_file

    figures: dict[str, float | int] = {}
    if argv:
        start, start_cpu = time.perf_counter(), time.process_time()
        report = parse_file(Path(argv[0]))
        figures["parse_s"] = round(time.perf_counter() - start, 2)
        figures["parse_cpu_s"] = round(time.process_time() - start_cpu, 2)
        figures["failures"] = len(report.failures)
    figures["peak_rss_mb"] = round(_peak_rss_kib() / 1024, 1)
    print(json.dumps(figures))
    return 0


def _peak_rss_kib() -> int:
    """This process's own peak resident size. `ru_maxrss` would not do: Linux carries it over
    from the parent through fork and exec, so a child would report the benchmark's peak."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
