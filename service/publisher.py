"""Best-effort publishing of job ids to the broker, off the event loop.

Publishing happens after the database commit and must never delay or fail a webhook answer: a
broker that is down raises after a short retry, one that hangs times out on its socket, and either
way the job stays `queued` in the database, where the reconciler finds it and publishes it again.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence

import structlog
from celery import Celery
from kombu.exceptions import KombuError

from service.batching import batches
from workers.celery_app import DISPATCH_DELIVERY, FAN_OUT, RUN_JOB

log = structlog.get_logger(__name__)


class JobPublisher:
    def __init__(
        self, celery: Celery, *, max_pending: int = 100_000, linger_seconds: float = 0.025
    ) -> None:
        self._celery = celery
        # A publish through Celery costs the web process about as much CPU as recording the
        # delivery. Waiting a few milliseconds after the first job for others to arrive turns a
        # steady stream into one message per window instead of one per request; a job starts that
        # much later, which no agent notices.
        self._linger = linger_seconds
        # Items are lists: what one commit produced goes in (and comes out) together.
        self._queue: queue.Queue[list[tuple[str, str, str]] | None] = queue.Queue(
            maxsize=max_pending
        )
        self._thread: threading.Thread | None = None
        self.published = 0
        self.failed = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="job-publisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        if self._thread is None:
            return
        try:
            self._queue.put(None, timeout=timeout)
        except queue.Full:
            log.warning("publisher queue full at shutdown; the reconciler will publish the rest")
        self._thread.join(timeout)
        self._thread = None

    def submit(self, job_ids: Sequence[str], *, dispatch: Sequence[str] = ()) -> None:
        """Queue job ids, and deliveries to match in the worker (repository config), for
        publishing; never blocks."""
        messages = [(RUN_JOB, "job_id", job_id) for job_id in job_ids]
        messages += [(DISPATCH_DELIVERY, "delivery_id", delivery_id) for delivery_id in dispatch]
        if not messages:
            return
        try:
            self._queue.put_nowait(messages)
        except queue.Full:
            self.failed += len(messages)
            log.warning("publisher backlog full; left for the reconciler", messages=len(messages))

    def _run(self) -> None:
        for lists in batches(self._queue, limit=100, linger=self._linger):
            batch = [message for messages in lists for message in messages]
            try:
                self._publish(batch)
            except Exception:
                # The thread must outlive any broker client bug; unpublished jobs stay queued in
                # the database and the reconciler publishes them.
                log.exception("publishing failed", jobs=len(batch))

    def _publish(self, messages: list[tuple[str, str, str]]) -> None:
        job_ids = [value for task, _, value in messages if task == RUN_JOB]
        others = [message for message in messages if message[0] != RUN_JOB]
        # Under load many jobs pile up while one publish is on the wire: they go out as one
        # message that a worker fans out, so the web process pays one publish per batch.
        outgoing: list[tuple[str, dict[str, object], int]] = [
            (task, {key: value}, 1) for task, key, value in others
        ]
        if len(job_ids) == 1:
            outgoing.append((RUN_JOB, {"job_id": job_ids[0]}, 1))
        elif job_ids:
            outgoing.append((FAN_OUT, {"job_ids": job_ids}, len(job_ids)))
        sent = 0
        try:
            # kombu buffers a batch's messages and sends them in one round trip (a Redis
            # pipeline); transports without batching publish each message at once.
            with self._celery.producer_or_acquire() as producer, producer.batch():
                for task, kwargs, count in outgoing:
                    self._celery.send_task(
                        task,
                        kwargs=kwargs,
                        producer=producer,
                        # Celery would build these (for monitoring) with its safe repr, which
                        # costs more than the publish for a long list of job ids.
                        argsrepr="()",
                        kwargsrepr=_kwargs_repr(kwargs),
                    )
                    sent += count
        except (KombuError, OSError) as exc:
            self.failed += len(messages) - sent
            log.warning(
                "broker unavailable; work stays queued for the reconciler",
                messages=len(messages) - sent,
                error=str(exc),
            )
        finally:
            self.published += sent


def _kwargs_repr(kwargs: dict[str, object]) -> str:
    return ", ".join(
        f"{key}=<{len(value)} ids>" if isinstance(value, list) else f"{key}={value!r}"
        for key, value in kwargs.items()
    )
