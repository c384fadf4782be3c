"""Hostile Dockerfiles and options: one error line naming the problem and its line, never a
traceback, never a request nobody meant."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_refused, build
from tests.support.inprocess import build_in_process
from tests.support.registry import RunningRegistry


def test_stages_built_from_each_other_are_a_cycle_not_a_pull(tmp_path: Path,
                                                            registry: RunningRegistry) -> None:
    result = build(tmp_path, registry, "FROM b AS a\nRUN true\nFROM a AS b\nRUN true\n")
    line = assert_refused(result, "circular dependency", "a (line 1)", "b (line 3)", ":1:")
    assert "index.docker.io" not in line
    assert not any("docker.io" in message for message in result.run.messages)


def test_a_dockerfile_that_is_not_utf8_keeps_its_bytes(tmp_path: Path, registry: RunningRegistry,
                                                       busybox_image: str) -> None:
    context = tmp_path / "context"
    context.mkdir()
    (context / "Dockerfile").write_bytes(f"FROM {busybox_image}\nRUN printf '\xff\xfe' > /bytes\n"
                                         .encode("latin-1"))
    run = build_in_process(tmp_path, context, "--no-push")
    assert run.returncode == 0, run.error_lines
    assert (tmp_path / "root" / "bytes").read_bytes() == b"\xff\xfe"  # as BuildKit passes them


@pytest.fixture
def small_kaniko_dir(tmp_path: Path) -> Iterator[Path]:
    kaniko = tmp_path / "kaniko"
    kaniko.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "lamina-test", str(kaniko)], check=True)
    try:
        yield kaniko
    finally:
        subprocess.run(["umount", "-l", str(kaniko)], check=True)


def test_a_full_kaniko_dir_names_the_step_and_the_directory(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, small_kaniko_dir: Path) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\nRUN head -c 3000000 /dev/urandom > /big\n")
    line = assert_refused(result, ":2:", "RUN", "no space left on device", str(small_kaniko_dir))
    assert "Errno" not in line
