"""Hostile Dockerfiles and options: one error line naming the problem and its line, never a
traceback, never a request nobody meant."""

from __future__ import annotations

import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import assert_refused, build, entry, tar_of
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


def _tar_with(*members: tuple[str, bytes, str]) -> bytes:
    """An archive of (name, tar type, link target) members; regular files hold "x\\n"."""
    return tar_of(*((entry(name, kind, linkname=link), b"x\n" if kind == tarfile.REGTYPE else None)
                    for name, kind, link in members))


@pytest.mark.parametrize("members", [
    (("../escape.txt", b"0", ""),),
    (("/abs.txt", b"0", ""),),
    (("hard", b"1", "../../outside"),),
], ids=["dotdot", "absolute", "hardlink-escape"])
def test_add_of_a_hostile_local_archive_is_one_clean_error(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, members: tuple) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\nADD evil.tar /unpacked/\n",
                   {"evil.tar": _tar_with(*members)})
    assert_refused(result, ":2:", "evil.tar")
    assert not (tmp_path / "root" / "escape.txt").exists()


@pytest.mark.parametrize("dockerfile,fragment", [
    ("FROM {base}\nCOPY --chown=99999999999999999999 Dockerfile /d\n", "99999999999999999999"),
    ("FROM {base}\nRUN echo nul\x00byte\n", "NUL"),
    ("FROM {base}\nUSER 99999999999999999999\nRUN true\n", "99999999999999999999"),
], ids=["chown-overflow", "nul-in-run", "user-overflow"])
def test_hostile_dockerfiles_are_one_clean_error(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str, dockerfile: str, fragment: str) -> None:
    result = build(tmp_path, registry, dockerfile.replace("{base}", busybox_image))
    assert_refused(result, fragment)


def test_an_archive_link_out_of_its_destination_stays_inside_it(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    # link -> /etc, then link/passwd: resolved with the destination as the archive's root, as
    # moby's archive package does; the image's own /etc/passwd is untouched
    result = build(tmp_path, registry, f"FROM {busybox_image}\nADD evil.tar /unpacked/\n",
                   {"evil.tar": _tar_with(("link", b"2", "/etc"), ("link/passwd", b"0", ""))})
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "unpacked/etc/passwd").read_text() == "x\n"
    assert "root:x:0:0" in (result.root / "etc/passwd").read_text()


def test_deeply_nested_expansions_expand_as_buildkit_does(tmp_path: Path, registry: RunningRegistry,
                                                          busybox_image: str) -> None:
    nested = "${X:-" * 3000 + "v" + "}" * 3000  # a RecursionError once; BuildKit expands it
    result = build(tmp_path, registry, f"FROM {busybox_image}\nARG X=set\nRUN echo {nested} > /tmp/x\n")
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "tmp/x").read_text() == "set\n"
