from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import redis

from service.publisher import JobPublisher
from service.settings import Settings
from workers.celery_app import FAN_OUT, QUEUE, RUN_JOB, create_celery


def queued_messages(url: str) -> list[tuple[str, dict[str, object]]]:
    client = redis.Redis.from_url(url)
    messages = []
    for raw in client.lrange(QUEUE, 0, -1):
        envelope = json.loads(raw)
        _, kwargs, _ = json.loads(base64.b64decode(envelope["body"]))
        messages.append((envelope["headers"]["task"], kwargs))
    return list(reversed(messages))  # LPUSH: newest first


def wait_for(check: object, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not check():  # type: ignore[operator]
        time.sleep(0.05)


def test_jobs_committed_together_go_out_as_one_fan_out_message(
    redis_broker_url: str, tmp_path: Path
) -> None:
    redis.Redis.from_url(redis_broker_url).delete(QUEUE)
    publisher = JobPublisher(
        create_celery(Settings(broker_url=redis_broker_url, data_dir=tmp_path))
    )
    publisher.submit([f"job-{n}" for n in range(5)], dispatch=["delivery-1"])
    publisher.start()
    wait_for(lambda: publisher.published == 6)
    publisher.stop()
    assert queued_messages(redis_broker_url) == [
        ("hookwise.dispatch_delivery", {"delivery_id": "delivery-1"}),
        (FAN_OUT, {"job_ids": [f"job-{n}" for n in range(5)]}),
    ]


def test_a_single_job_is_published_directly(redis_broker_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(redis_broker_url).delete(QUEUE)
    publisher = JobPublisher(
        create_celery(Settings(broker_url=redis_broker_url, data_dir=tmp_path))
    )
    publisher.start()
    publisher.submit(["only"])
    wait_for(lambda: publisher.published == 1)
    publisher.stop()
    assert queued_messages(redis_broker_url) == [(RUN_JOB, {"job_id": "only"})]


def test_a_broker_that_is_down_is_counted_not_raised(tmp_path: Path) -> None:
    publisher = JobPublisher(
        create_celery(Settings(broker_url="redis://127.0.0.1:1/0", data_dir=tmp_path))
    )
    publisher.start()
    publisher.submit(["a", "b"])
    wait_for(lambda: publisher.failed == 2)
    publisher.stop()
    assert (publisher.published, publisher.failed) == (0, 2)
