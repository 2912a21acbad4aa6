"""Prometheus metrics. Counters live in the web process; job figures are read from the database at
scrape time, so they cover every worker process without a side channel."""

from __future__ import annotations

from collections.abc import Iterator

import structlog
from prometheus_client import CollectorRegistry, Counter
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import SQLAlchemyError

from service.store.models import Job, JobDurationBucket, JobState

log = structlog.get_logger(__name__)

DURATION_BUCKETS: tuple[float, ...] = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200)


class Metrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry
        self.deliveries = Counter(
            "hookwise_deliveries",
            "Webhook deliveries accepted, by event and outcome (matched, ignored, duplicate).",
            ["event", "outcome"],
            registry=registry,
        )
        self.rejections = Counter(
            "hookwise_webhook_rejections",
            "Webhook requests refused, by reason.",
            ["reason"],
            registry=registry,
        )


class JobsCollector(Collector):
    """Jobs by state, and the job-duration histogram the workers keep in the database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        # Registration asks for the names; without this it would run `collect`, a database query
        # while the app is being built (and a crash there when the database is down).
        yield GaugeMetricFamily("hookwise_jobs", "Jobs by state.", labels=["state"])
        yield _duration_histogram([])

    def collect(self) -> Iterator[GaugeMetricFamily | HistogramMetricFamily]:
        try:
            with self._engine.connect() as conn:
                rows = conn.execute(select(Job.state, func.count()).group_by(Job.state)).all()
                counts = dict(rows)
                buckets = conn.execute(
                    select(JobDurationBucket.agent, JobDurationBucket.le, JobDurationBucket.value)
                ).all()
        except SQLAlchemyError as exc:
            # The web process's own counters must still be scraped while the database is away
            # (that is when they matter); the job figures come back with it.
            log.warning("job metrics unavailable", error=type(exc).__name__)
            return
        jobs = GaugeMetricFamily("hookwise_jobs", "Jobs by state.", labels=["state"])
        for state in JobState:
            jobs.add_metric([state.value], float(counts.get(state.value, 0)))
        yield jobs
        yield _duration_histogram([(row.agent, row.le, row.value) for row in buckets])


def _duration_histogram(rows: list[tuple[str, str, float]]) -> HistogramMetricFamily:
    histogram = HistogramMetricFamily(
        "hookwise_job_duration_seconds", "Time from claim to finish, by agent.", labels=["agent"]
    )
    by_agent: dict[str, dict[str, float]] = {}
    for agent, le, value in rows:
        by_agent.setdefault(agent, {})[le] = value
    for agent, values in sorted(by_agent.items()):
        bounds = [(_format_bound(b), values.get(_format_bound(b), 0.0)) for b in DURATION_BUCKETS]
        bounds.append(("+Inf", values.get("+Inf", 0.0)))
        histogram.add_metric([agent], bounds, sum_value=values.get("sum", 0.0))
    return histogram


def _format_bound(bound: float) -> str:
    return repr(float(bound))


def bucket_labels_for(duration: float) -> list[str]:
    """The cumulative buckets one observation of `duration` increments, plus `+Inf`."""
    return [_format_bound(b) for b in DURATION_BUCKETS if duration <= b] + ["+Inf"]
