"""Operator API (`/api/...`, bearer token) and probes (`/healthz`, `/readyz`, `/metrics`)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Response, status
from fastapi.responses import JSONResponse
from kombu.exceptions import KombuError
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select, text
from sqlalchemy.exc import SQLAlchemyError

from service import control
from service.deps import ApiAuth, RuntimeDep, SessionDep
from service.store.models import Attempt, Delivery, Job, JobState

api = APIRouter(prefix="/api", dependencies=[ApiAuth])
probes = APIRouter()


class JobOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    delivery_id: str
    automation: str
    agent: str
    state: str
    reason: str | None
    attempts: int
    max_attempts: int
    concurrency_group: str | None
    cancel_requested: bool
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    not_before: dt.datetime | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    worker: str | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    outcome: str | None
    error: str | None


class JobDetail(JobOut):
    options: dict[str, Any]
    command: dict[str, Any] | None
    pending: dict[str, Any]
    result: dict[str, Any] | None
    attempt_history: list[AttemptOut] = []


class DeliveryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    event: str
    action: str | None
    state: str
    repository: str | None
    installation_id: int | None
    sender: str | None
    received_at: dt.datetime
    error: str | None


class DeliveryDetail(DeliveryOut):
    jobs: list[JobOut]


Limit = Annotated[int, Query(ge=1, le=500)]


@api.get("/deliveries")
def list_deliveries(
    session: SessionDep,
    event: str | None = None,
    repository: str | None = None,
    before: dt.datetime | None = None,
    limit: Limit = 50,
) -> list[DeliveryOut]:
    query = select(Delivery).order_by(Delivery.received_at.desc()).limit(limit)
    if event:
        query = query.where(Delivery.event == event)
    if repository:
        query = query.where(Delivery.repository == repository)
    if before:
        query = query.where(Delivery.received_at < before)
    return [DeliveryOut.model_validate(row) for row in session.scalars(query)]


@api.get("/deliveries/{delivery_id}")
def get_delivery(delivery_id: str, session: SessionDep) -> DeliveryDetail:
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such delivery")
    jobs = session.scalars(
        select(Job).where(Job.delivery_id == delivery_id).order_by(Job.automation)
    )
    return DeliveryDetail.model_validate(
        {**DeliveryOut.model_validate(delivery).model_dump(), "jobs": list(jobs)}
    )


@api.get("/jobs")
def list_jobs(
    session: SessionDep,
    state: JobState | None = None,
    automation: str | None = None,
    limit: Limit = 50,
) -> list[JobOut]:
    query = select(Job).order_by(Job.created_at.desc()).limit(limit)
    if state:
        query = query.where(Job.state == state)
    if automation:
        query = query.where(Job.automation == automation)
    return [JobOut.model_validate(row) for row in session.scalars(query)]


def _job_detail(session: SessionDep, job: Job) -> JobDetail:
    attempts = session.scalars(
        select(Attempt).where(Attempt.job_id == job.id).order_by(Attempt.number)
    )
    detail = JobDetail.model_validate(job)
    detail.attempt_history = [AttemptOut.model_validate(a) for a in attempts]
    return detail


@api.get("/jobs/{job_id}")
def get_job(job_id: str, session: SessionDep) -> JobDetail:
    job = session.get(Job, job_id)
    if job is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such job")
    return _job_detail(session, job)


@api.post("/jobs/{job_id}/retry", status_code=status.HTTP_202_ACCEPTED)
def retry_job(job_id: str, session: SessionDep, runtime: RuntimeDep) -> JobDetail:
    try:
        job = control.retry_job(
            session, job_id=job_id, extra_attempts=runtime.settings.job_max_attempts
        )
    except control.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such job") from exc
    except control.InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    runtime.publisher.submit([job.id])
    return _job_detail(session, job)


@api.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, session: SessionDep) -> JobDetail:
    try:
        job = control.cancel_job(session, job_id=job_id)
    except control.JobNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no such job") from exc
    except control.InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return _job_detail(session, job)


@probes.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@probes.get("/readyz")
def readyz(runtime: RuntimeDep) -> JSONResponse:
    checks: dict[str, str] = {}
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except SQLAlchemyError as exc:
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        with runtime.celery.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=runtime.settings.broker_timeout_seconds)
        checks["broker"] = "ok"
    except (KombuError, OSError) as exc:
        checks["broker"] = f"unavailable: {type(exc).__name__}"
    ready = all(value == "ok" for value in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, 200 if ready else 503)


@probes.get("/metrics")
def metrics(runtime: RuntimeDep) -> Response:
    return Response(generate_latest(runtime.metrics.registry), media_type=CONTENT_TYPE_LATEST)
