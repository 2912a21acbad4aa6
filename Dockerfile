# syntax=docker/dockerfile:1
#
# One image for every Hookwise process: the command picks the role.
#   docker run IMAGE                                   -> web (hookwise serve on 0.0.0.0:8000)
#   docker run IMAGE worker | beat | db upgrade        -> Celery worker, Celery beat, migrations
# See docs/deploy.md for the compose file, Kubernetes manifests and systemd units built on it.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---------------------------------------------------------------------------------------------
# Stage 1: build wheels for Hookwise and every dependency. Nothing from this stage but the wheels
# reaches the final image, so build tools and pip caches stay out of it.
FROM ${PYTHON_IMAGE} AS wheels

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
# Dependencies change far less often than code: wheel them in a layer that only pyproject.toml
# invalidates, so a code change rebuilds one small wheel instead of the whole dependency tree.
COPY pyproject.toml README.md ./
RUN python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies'], sep='\n')" > requirements.txt \
    && pip wheel --wheel-dir /wheels --requirement requirements.txt
COPY service ./service
COPY workers ./workers
RUN pip wheel --no-deps --wheel-dir /wheels .

# ---------------------------------------------------------------------------------------------
# Stage 2: the runtime image.
FROM ${PYTHON_IMAGE} AS runtime

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/hookwise \
    HOOKWISE_DATA_DIR=/var/lib/hookwise

# git: the worker clones repositories and makes per-job worktrees.
# tini: PID 1 that forwards SIGTERM to Celery (so a warm shutdown actually starts) and reaps the
# git/sandbox subprocesses that agents leave behind.
# Not pinned: Debian drops superseded versions from the archive, so a pin breaks later rebuilds;
# the base image tag fixes the release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends git tini \
    && rm -rf /var/lib/apt/lists/*

# A fixed numeric uid/gid so Kubernetes `runAsNonRoot` can verify it and volume ownership is
# predictable across hosts.
RUN groupadd --system --gid 10001 hookwise \
    && useradd --system --uid 10001 --gid hookwise --home-dir /var/lib/hookwise \
       --create-home --shell /usr/sbin/nologin hookwise

# The only wheels on offer are the ones built above, so nothing here is resolved from an index.
# hadolint ignore=DL3013
RUN --mount=type=bind,from=wheels,source=/wheels,target=/wheels \
    pip install --no-index --find-links /wheels hookwise

COPY --chmod=0755 deploy/healthcheck.py /usr/local/bin/hookwise-healthcheck

USER 10001:10001
WORKDIR /var/lib/hookwise
EXPOSE 8000

# No HEALTHCHECK here: the same image runs web, worker and beat, and each needs its own probe
# (HTTP, Celery ping, process check). docker-compose.yml and the Kubernetes manifests set them.
ENTRYPOINT ["tini", "--", "hookwise"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000"]
