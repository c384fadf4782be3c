"""``executor --help`` lists every flag in one of kaniko's groups with a one-line meaning, and
each common mistake ends in one error line that says what to do, with a non-zero exit."""

from __future__ import annotations

import argparse
import base64
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.cli import build_parser
from executor.cli.help_groups import GROUPS, group_of, long_name
from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.registry import RunningRegistry, run_registry


def _visible() -> list[argparse.Action]:
    return [action for action in build_parser()._actions if action.help != argparse.SUPPRESS]


def test_every_flag_is_in_a_group_and_says_what_it_does() -> None:
    ungrouped = [long_name(action) for action in _visible() if group_of(action) is None]
    assert not ungrouped, f"flags without a group in executor/cli/help_groups.py GROUPS: {ungrouped}"
    unexplained = [long_name(action) for action in _visible() if not (action.help or "").strip()]
    assert not unexplained, f"flags without help: {unexplained}"
    listed = [flag for flags in GROUPS.values() for flag in flags]
    assert len(listed) == len(set(listed)), "a flag is listed in two groups"
    known = {long_name(action) for action in _visible()}
    assert not set(listed) - known, f"GROUPS names flags the executor has not: {set(listed) - known}"


def test_help_prints_the_groups_in_kaniko_order() -> None:
    result = subprocess.run([sys.executable, "-m", "executor", "--help"], capture_output=True, text=True)
    assert result.returncode == 0
    titles = [line[:-1] for line in result.stdout.splitlines() if line.endswith(" flags:")]
    assert titles[:6] == ["build flags", "registry flags", "cache flags", "output flags",
                          "snapshot flags", "logging flags"]
    output = result.stdout[result.stdout.index("output flags:"):result.stdout.index("snapshot flags:")]
    assert "--destination" in output and "--tar-path" in output
    assert "--cache-repo" in result.stdout[result.stdout.index("cache flags:"):]


def _fails_with_hint(run: ExecutorRun | subprocess.CompletedProcess[str], *needles: str) -> str:
    assert run.returncode != 0
    errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in run.stderr, run.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def test_a_context_of_an_unknown_scheme(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\n")
    run = run_executor(tmp_path / "work", context, "--context", "ftp://example.com/ctx", "--no-push")
    _fails_with_hint(run, "unknown scheme ftp://", "use one of dir://")


def test_a_dockerfile_not_in_the_context(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\n")
    run = run_executor(tmp_path / "work", context, "--dockerfile", "build/Dockerfile.prod", "--no-push")
    _fails_with_hint(run, "Dockerfile", "does not exist", "give --dockerfile its path in the context")


def test_no_destination_without_no_push(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\n")
    run = run_executor(tmp_path / "work", context)
    _fails_with_hint(run, "you must provide --destination, or use --no-push")


def test_an_unknown_flag_points_at_help(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\n")
    run = run_executor(tmp_path / "work", context, "--destinaton", "r/x", "--no-push")
    _fails_with_hint(run, "--destinaton", "`executor --help` lists the flags")


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("private"), tls=True, username="builder",
                      password="right") as running:
        yield running


@pytest.mark.parametrize("password", ["wrong", None])
def test_a_push_denied_says_where_credentials_go(tmp_path: Path, private_registry: RunningRegistry,
                                                 password: str | None) -> None:
    env = {}
    if password is not None:
        docker = tmp_path / "docker"
        docker.mkdir()
        auth = base64.b64encode(f"builder:{password}".encode()).decode()
        (docker / "config.json").write_text(json.dumps({"auths": {private_registry.host: {"auth": auth}}}))
        env["DOCKER_CONFIG"] = str(docker)
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY Dockerfile /\n")
    run = run_executor(tmp_path / "work", context, "--destination", private_registry.ref("private/app"),
                       "--skip-tls-verify", env=env)
    line = _fails_with_hint(run, "401", private_registry.host, "/kaniko/.docker/config.json",
                            "--credential-helpers")
    assert ("check credentials for" if password else "no credentials configured for") in line
