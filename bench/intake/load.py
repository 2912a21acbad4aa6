"""An open-loop load generator: requests start on a fixed schedule whether or not earlier ones
have finished, and latency is measured from the scheduled start (no coordinated omission)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class FixedRateResult:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def exchange(self, request: bytes) -> int:
        self.writer.write(request)
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionResetError("connection closed before an answer")
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def fixed_rate(
    *,
    host: str,
    port: int,
    rate: float,
    duration: float,
    make_request: Callable[[int], bytes],
) -> FixedRateResult:
    result = FixedRateResult()
    idle: list[_Connection] = []
    start = time.perf_counter() + 0.2
    total = int(rate * duration)

    async def one(index: int) -> None:
        scheduled = start + index / rate
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            status, connection = await _exchange(idle, host, port, make_request(index))
            idle.append(connection)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError) as exc:
            result.errors += 1
            kind = type(exc).__name__
            result.error_kinds[kind] = result.error_kinds.get(kind, 0) + 1
            return
        result.latencies.append(time.perf_counter() - scheduled)
        result.statuses[status] = result.statuses.get(status, 0) + 1

    await asyncio.gather(*(one(i) for i in range(total)))
    for connection in idle:
        connection.writer.close()
    return result


async def _exchange(
    idle: list[_Connection], host: str, port: int, request: bytes
) -> tuple[int, _Connection]:
    """Send on an idle keep-alive connection, or a new one. As HTTP clients do, a reused
    connection that the server had already closed (its keep-alive timeout) is retried once on a
    new connection; that retry's time counts in the latency."""
    if idle:
        connection = idle.pop()
        try:
            return await connection.exchange(request), connection
        except (ConnectionError, asyncio.IncompleteReadError):
            connection.writer.close()
    connection = _Connection(*await asyncio.open_connection(host, port))
    return await connection.exchange(request), connection
