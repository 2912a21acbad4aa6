"""CPU time of each step of the intake, one at a time, in this process.

    python -m bench.intake.steps

Needs the local PostgreSQL (a scratch database is created and dropped) and Redis. CPU time
(`time.process_time`) is used so the figures do not depend on what else the machine runs; the
step a request costs in the server also waits for locks and the network, which this leaves out.
"""

from __future__ import annotations

import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from bench.intake.__main__ import CONFIG, PAYLOAD, SECRET, drop_postgres, postgres_database
from service.app import build_runtime
from service.intake import NewDelivery, record_deliveries
from service.lazy_json import PayloadParser
from service.runtime import Runtime
from service.settings import Settings
from service.signatures import sign, verify
from service.store.db import create_db_engine, upgrade
from service.webhooks import new_delivery, parse_payload
from workers.celery_app import FAN_OUT


def cpu_microseconds(step: Callable[[], object], *, repeat: int) -> float:
    step()  # warm caches and prepared statements
    started = time.process_time()
    for _ in range(repeat):
        step()
    return (time.process_time() - started) / repeat * 1e6


def steps(runtime: Runtime) -> dict[str, tuple[Callable[[], object], int]]:
    body = PAYLOAD.read_bytes()
    signature = sign(body, SECRET)
    payload = parse_payload(body)
    parser = PayloadParser()

    def delivery(read: Mapping[str, Any]) -> NewDelivery:
        return new_delivery(
            delivery_id=str(uuid.uuid4()),
            event="pull_request",
            hook_id=None,
            payload=read,
            data=body,
            runtime=runtime,
        )

    # As the writer threads do: one connection held for the writer's life.
    connection = runtime.engine.connect()

    def record(count: int) -> Callable[[], object]:
        def write() -> object:
            batch = [delivery(payload) for _ in range(count)]
            with connection.begin():
                return record_deliveries(connection, batch, max_attempts=5)

        return write

    def publish() -> None:
        with runtime.celery.producer_or_acquire() as producer, producer.batch():
            runtime.celery.send_task(FAN_OUT, kwargs={"job_ids": ["bench"] * 20}, producer=producer)

    return {
        "verify the signature": (lambda: verify(body, signature, (SECRET,)), 2000),
        "parse the JSON in full (orjson; bodies over 256 KiB)": (lambda: parse_payload(body), 2000),
        "parse lazily (simdjson), nothing read": (lambda: parser.parse(body), 2000),
        "match, build the rows, on a full parse": (lambda: delivery(parse_payload(body)), 2000),
        "match, build the rows, on a lazy parse": (lambda: delivery(parser.parse(body)), 2000),
        "write a batch of 1 (PostgreSQL)": (record(1), 300),
        "write a batch of 28 (PostgreSQL)": (record(28), 30),
        "publish a 20-job fan-out message (Celery, Redis)": (publish, 300),
    }


def main() -> None:
    database = postgres_database()
    broker = "redis://127.0.0.1:6379/13"
    try:
        engine = create_db_engine(database)
        upgrade(engine)
        engine.dispose()
        with tempfile.TemporaryDirectory() as scratch:
            config = Path(scratch) / "hookwise.yml"
            config.write_text(CONFIG)
            settings = Settings(
                database_url=database,
                broker_url=broker,
                webhook_secret=SECRET,
                config=config,
                data_dir=Path(scratch),
            )
            runtime = build_runtime(settings)
            print(f"payload {PAYLOAD.stat().st_size} bytes; CPU microseconds per call\n")
            for name, (step, repeat) in steps(runtime).items():
                print(f"{name:52} {cpu_microseconds(step, repeat=repeat):10.1f}")
            runtime.engine.dispose()
    finally:
        drop_postgres(database)
        import redis

        redis.Redis.from_url(broker).flushdb()


if __name__ == "__main__":
    main()
