"""Dockerfile and .dockerignore: what the image is built from and how it starts.

No Docker engine runs here, so the build itself is not exercised; the wheel-stage test rebuilds the
package from exactly the files the build context would hold.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path
from typing import Any

import pytest
from dockerfile_parse import DockerfileParser

REPO_ROOT = Path(__file__).resolve().parents[2]
HEALTHCHECK_IN_IMAGE = "/usr/local/bin/hookwise-healthcheck"

Instruction = dict[str, Any]


@pytest.fixture(scope="module")
def dockerfile() -> DockerfileParser:
    return DockerfileParser(path=str(REPO_ROOT / "Dockerfile"))


def stages(parser: DockerfileParser) -> list[list[Instruction]]:
    """Instructions grouped by build stage (each starts at a FROM)."""
    grouped: list[list[Instruction]] = []
    for instruction in parser.structure:
        if instruction["instruction"] == "FROM":
            grouped.append([])
        if grouped:
            grouped[-1].append(instruction)
    return grouped


def values(stage: list[Instruction], name: str) -> list[str]:
    return [i["value"] for i in stage if i["instruction"] == name]


def copy_sources(stage: list[Instruction]) -> list[str]:
    """Build-context paths a stage COPYs (not those copied from another stage)."""
    sources = []
    for value in values(stage, "COPY"):
        words = shlex.split(value)
        if any(word.startswith("--from=") for word in words):
            continue
        paths = [word for word in words if not word.startswith("--")]
        sources.extend(paths[:-1])
    return sources


def dockerignore_allows(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins, `!` re-includes. A path is also included when
    a re-included pattern names one of its parent directories."""
    allowed = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        body = pattern.removeprefix("!")
        parts = Path(path).parts
        prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(prefix, body) for prefix in prefixes):
            allowed = negated
    return allowed


def dockerignore_patterns() -> list[str]:
    lines = (REPO_ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def test_multi_stage_build_on_python_311_slim(dockerfile: DockerfileParser) -> None:
    assert dockerfile.is_multistage
    *builders, runtime = stages(dockerfile)
    assert builders, "the wheels are built in a stage of their own"
    # parent_images has the FROM lines with build arguments substituted.
    for base in dockerfile.parent_images:
        assert base.startswith("python:3.11-slim")
    assert len(dockerfile.parent_images) == len(builders) + 1
    assert any("pip wheel" in run for run in values(builders[0], "RUN"))
    # The runtime installs from the wheels only: no index, no compiler, nothing fetched at build.
    (install,) = [run for run in values(runtime, "RUN") if "pip install" in run]
    assert "--no-index" in install
    assert "from=wheels" in install


def test_runs_as_a_fixed_non_root_user(dockerfile: DockerfileParser) -> None:
    runtime = stages(dockerfile)[-1]
    users = values(runtime, "USER")
    assert users, "the runtime stage must drop root"
    uid, _, gid = users[-1].partition(":")
    assert int(uid) >= 1000
    assert int(gid) >= 1000
    # USER comes after every RUN: nothing runs as root once it is set.
    names = [i["instruction"] for i in runtime]
    assert names.index("USER") > max(i for i, name in enumerate(names) if name == "RUN")
    assert any(f"--uid {uid}" in run for run in values(runtime, "RUN"))


def test_entrypoint_and_default_command(
    dockerfile: DockerfileParser, hookwise_subcommands: dict[str, list[str]]
) -> None:
    runtime = stages(dockerfile)[-1]
    (entrypoint,) = values(runtime, "ENTRYPOINT")
    (command,) = values(runtime, "CMD")
    assert json.loads(entrypoint) == ["tini", "--", "hookwise"]
    # A bare `docker run` is the web, migrating on start (no separate migration step there).
    web = hookwise_subcommands["web"]
    assert json.loads(command) == [arg for arg in web if arg != "--no-migrate"]
    (exposed,) = values(runtime, "EXPOSE")
    assert exposed == web[web.index("--port") + 1]


def test_healthcheck_script_is_installed_where_probes_call_it(
    dockerfile: DockerfileParser, compose: dict[str, Any]
) -> None:
    runtime = stages(dockerfile)[-1]
    copies = [shlex.split(value) for value in values(runtime, "COPY")]
    assert ["--chmod=0755", "deploy/healthcheck.py", HEALTHCHECK_IN_IMAGE] in copies
    probe = compose["services"]["web"]["healthcheck"]["test"][1]
    assert Path(HEALTHCHECK_IN_IMAGE).name == probe


def test_dockerignore_admits_exactly_what_the_build_copies(dockerfile: DockerfileParser) -> None:
    patterns = dockerignore_patterns()
    assert patterns[0] == "*", "an allow-list keeps .git, .venv and local secrets out"
    copied = [source for stage in stages(dockerfile) for source in copy_sources(stage)]
    assert copied
    for source in copied:
        assert (REPO_ROOT / source).exists(), source
        assert dockerignore_allows(source, patterns), source
    for kept_out in (".git", ".venv", "tests", "hookwise.env", "deploy/k8s", ".env"):
        assert not dockerignore_allows(kept_out, patterns), kept_out


def test_dockerignore_matcher() -> None:
    patterns = ["*", "!service", "**/__pycache__"]
    assert dockerignore_allows("service/app.py", patterns)
    assert not dockerignore_allows("tests/test_x.py", patterns)
    assert not dockerignore_allows("service/__pycache__", patterns)


@pytest.mark.slow
def test_wheel_from_the_build_context_has_the_whole_package(
    dockerfile: DockerfileParser, tmp_path: Path
) -> None:
    # Build the wheel the way the Dockerfile's first stage does, from only the copied files.
    context = tmp_path / "context"
    wheels = tmp_path / "wheels"
    builder = stages(dockerfile)[0]
    for source in copy_sources(builder):
        origin = REPO_ROOT / source
        if origin.is_dir():
            shutil.copytree(
                origin, context / source, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
            )
        else:
            (context / source).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, context / source)
    # The dependency layer's requirements come from a shell one-liner; run it as the build would.
    (requirements_run,) = [run for run in values(builder, "RUN") if "requirements.txt" in run]
    extract = requirements_run.split("&&")[0]
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    subprocess.run(
        ["sh", "-c", extract], cwd=context, env={**os.environ, "PATH": path}, check=True, timeout=60
    )
    with (REPO_ROOT / "pyproject.toml").open("rb") as pyproject:
        dependencies = tomllib.load(pyproject)["project"]["dependencies"]
    assert (context / "requirements.txt").read_text().splitlines() == dependencies

    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(wheels), "."],
        cwd=context,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = wheels.glob("hookwise-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        assert "hookwise = service.cli:main" in archive.read(entry_points).decode()
    # Every module and data file (migrations included) must reach the image.
    shipped = {
        path.relative_to(context).as_posix()
        for package in ("service", "workers")
        for path in (context / package).rglob("*")
        if path.is_file() and path.suffix in {".py", ".mako", ".ini", ".yml", ".yaml", ".j2"}
    }
    assert shipped
    assert shipped <= names, sorted(shipped - names)
