"""The project's front door: the README's two commands, what they run, and CI running the same.

`make -n` prints the commands a target would run without running them, so these tests see what a
newcomer's `make test` does on a fresh machine (an empty virtual environment) without installing.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
# What fits on one screen of a terminal or a rendered page above the fold.
FIRST_SCREEN_LINES = 24


def _code_blocks(text: str) -> list[str]:
    return re.findall(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M)


def _commands(block: str) -> list[str]:
    lines = (line.split("#", 1)[0].strip() for line in block.splitlines())
    return [line for line in lines if line]


def _dry_run(target: str, tmp_path: Path) -> list[str]:
    make = shutil.which("make")
    if make is None:
        pytest.fail("make is not on PATH; the README's commands need it")
    fresh = tmp_path / "venv"  # does not exist: make must plan the whole installation
    # Run as a newcomer would, not as a child of `make test`: an inherited MAKELEVEL or
    # MAKEFLAGS makes make print "Entering/Leaving directory" lines among the commands.
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in ("MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES")
    }
    result = subprocess.run(
        [make, "--no-print-directory", "-n", target, f"VENV={fresh}"],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [line.replace(str(fresh), "VENV") for line in result.stdout.splitlines()]


def test_the_first_screen_gives_exactly_two_commands() -> None:
    first_screen = "\n".join(README.splitlines()[:FIRST_SCREEN_LINES])
    blocks = _code_blocks(first_screen)
    assert [_commands(block) for block in blocks] == [["make run", "make test"]]


def test_the_readme_says_the_compose_file_is_untested_by_a_live_engine() -> None:
    text = " ".join(README.split())
    assert "No Docker engine runs where this project is built" in text
    assert "has not been run by a live engine" in text


def test_make_test_installs_then_lints_type_checks_and_tests(tmp_path: Path) -> None:
    planned = _dry_run("test", tmp_path)
    expected = [
        "-m venv VENV",
        "pip install --quiet -e '.[dev]'",
        "pip install --quiet -e '.[dense]'",
        "VENV/bin/ruff check .",
        "VENV/bin/ruff format --check .",
        "VENV/bin/mypy",
        "VENV/bin/pytest",
    ]
    positions = []
    for step in expected:
        found = [index for index, line in enumerate(planned) if step in line]
        assert found, f"`make test` does not run {step!r}: {planned}"
        positions.append(found[0])
    assert positions == sorted(positions), planned


def test_make_run_serves_on_embedded_defaults(tmp_path: Path) -> None:
    planned = _dry_run("run", tmp_path)
    assert planned[-1] == "VENV/bin/hookwise serve"
    # Serving needs no torch: the sentence-embedding extra is installed for the tests only.
    assert not any("[dense]" in line for line in planned), planned


def test_ci_runs_the_readme_test_command_and_nothing_else() -> None:
    script = (REPO_ROOT / ".ci" / "run").read_text(encoding="utf-8")
    commands = [
        line.strip()
        for line in script.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    assert commands[-1] == "make test"
    # Everything before it only sets the shell up; nothing installs, skips or selects tests.
    assert all(line.startswith(("set ", "cd ")) for line in commands[:-1]), commands


def test_the_distribution_installs_the_hookwise_command() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["name"] == "hookwise"
    assert project["scripts"] == {"hookwise": "service.cli:main"}
    dev = {
        re.split(r"[<>=\[ ]", requirement, maxsplit=1)[0]
        for requirement in project["optional-dependencies"]["dev"]
    }
    # The tools `make test` and the tests call by name.
    assert {"pytest", "ruff", "mypy", "check-jsonschema"} <= dev


def test_a_worker_predicting_with_an_exported_encoder_installs_no_torch() -> None:
    extras = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"
    ]
    runtime = {re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0] for spec in extras["dense-runtime"]}
    dense = {re.split(r"[<>=!~ ;\[]", spec, maxsplit=1)[0] for spec in extras["dense"]}
    assert runtime == {"onnxruntime", "tokenizers"}
    # The test command installs `dense`, so everything the lighter extra names is tested too.
    assert runtime <= dense
