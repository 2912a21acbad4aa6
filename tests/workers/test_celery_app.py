"""The Celery configuration against the measured baseline in design/RELIABILITY.md.

Each assertion names the failure it prevents; the numbers come from the reliability notes, not from
the code under test.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from service.settings import Settings
from workers.celery_app import RECONCILE, RUN_JOB, celery_config, create_celery

REDIS = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_config(tmp_path: Path) -> dict[str, Any]:
    return celery_config(Settings(broker_url=REDIS, data_dir=tmp_path))


def test_late_acks_with_reject_on_worker_lost(redis_config: dict[str, Any]) -> None:
    # Early acks, or late acks without reject_on_worker_lost, lost the task of a killed child.
    assert redis_config["task_acks_late"] is True
    assert redis_config["task_reject_on_worker_lost"] is True


def test_prefetch_one_and_no_result_backend(redis_config: dict[str, Any]) -> None:
    assert redis_config["worker_prefetch_multiplier"] == 1
    # Job state lives in our database; a Redis result backend cost ~30% throughput.
    assert redis_config["task_ignore_result"] is True
    assert "result_backend" not in redis_config


def test_only_json_messages(redis_config: dict[str, Any]) -> None:
    assert redis_config["task_serializer"] == "json"
    assert redis_config["accept_content"] == ["json"]


def test_broker_timeouts_make_a_hung_broker_raise(redis_config: dict[str, Any]) -> None:
    # With socket_timeout None, apply_async blocked forever on a broker that never answers.
    options = redis_config["broker_transport_options"]
    assert 0 < options["socket_timeout"] <= 5
    assert 0 < options["socket_connect_timeout"] <= 5
    assert options["health_check_interval"] == 25
    assert options["retry_on_timeout"] is True
    # kombu restores unacked messages every interval × throttle; 1 keeps recovery near 10 s.
    assert options["unacked_restore_throttle"] == 1


def test_time_limits_stay_below_the_visibility_timeout(redis_config: dict[str, Any]) -> None:
    # A task that outlives the visibility timeout was started 4 times, two copies at once.
    visibility = redis_config["broker_transport_options"]["visibility_timeout"]
    soft, hard = redis_config["task_soft_time_limit"], redis_config["task_time_limit"]
    assert 0 < soft < hard < visibility


def test_retries_never_ride_on_long_countdowns(redis_config: dict[str, Any]) -> None:
    # A countdown longer than the visibility timeout ran 4 times; long waits go to the database.
    from workers.jobs import MAX_COUNTDOWN_SECONDS

    assert redis_config["broker_transport_options"]["visibility_timeout"] > MAX_COUNTDOWN_SECONDS


def test_connection_loss_and_shutdown(redis_config: dict[str, Any]) -> None:
    assert redis_config["broker_connection_max_retries"] is None
    assert redis_config["broker_connection_retry_on_startup"] is True
    assert redis_config["worker_cancel_long_running_tasks_on_connection_loss"] is True
    assert 10 <= redis_config["worker_soft_shutdown_timeout"] <= 60


def test_beat_runs_the_reconciler_every_30_seconds(redis_config: dict[str, Any]) -> None:
    assert redis_config["beat_schedule"]["reconcile"] == {"task": RECONCILE, "schedule": 30.0}


def test_the_settings_timeouts_reach_the_transport(tmp_path: Path) -> None:
    settings = Settings(
        broker_url=REDIS, data_dir=tmp_path, broker_timeout_seconds=2, task_time_limit_seconds=90
    )
    config = celery_config(settings)
    assert config["broker_transport_options"]["socket_timeout"] == 2
    assert config["task_time_limit"] == 90
    assert config["broker_transport_options"]["visibility_timeout"] > 90


def test_workers_register_tasks_that_take_ids_only(tmp_path: Path) -> None:
    settings = Settings(broker_url=REDIS, data_dir=tmp_path)
    app = create_celery(settings, with_tasks=True)
    task = app.tasks[RUN_JOB]
    assert task.acks_late is True
    assert task.reject_on_worker_lost is True
    assert task.ignore_result is True
    # The message carries the job id and nothing else: the worker reloads the rest, and a
    # message with anything more is refused when it is sent (typing=True).
    assert task.typing is True
    task.__header__(job_id="j")
    with pytest.raises(TypeError):
        task.__header__(job_id="j", payload={})
