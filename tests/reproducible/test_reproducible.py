"""Reproducible to the bit: the same Dockerfile and context built twice, on other roots, at other
times, from a context with other file times and by an executor with another umask, is the same
image (manifest digest) with --reproducible and with SOURCE_DATE_EPOCH; one changed byte of the
context is another image. When digests differ, the failure says which layer entry differs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from executor.cli import parse_options
from executor.errors import UsageError
from tests.reproducible.layer_diff import diff_layouts, read_blob, read_manifest, tar_entries

EPOCH = 1_700_000_000  # 2023-11-14T22:13:20Z: before every file time the test makes
DOCKERFILE = """\
FROM {base}
ARG SOURCE_DATE_EPOCH
ENV GREETING=hello
LABEL org.example.kind=reproducible
COPY top.txt /app/
COPY tree /app/tree
RUN mkdir -p /out/made && echo "built at $SOURCE_DATE_EPOCH" > /out/made/file && touch /out/stamp
"""
FILES = {"top.txt": b"top\n", "tree/a.txt": b"a\n", "tree/sub/b.sh": b"#!/bin/sh\necho b\n"}


@dataclass(frozen=True)
class Built:
    digest: str
    layout: Path


def _context(directory: Path, base: str, mtime: float, files: dict[str, bytes] = FILES,
             dockerfile: str = DOCKERFILE) -> Path:
    directory.mkdir(parents=True)
    (directory / "Dockerfile").write_text(dockerfile.format(base=base))
    for name, content in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
    os.chmod(directory / "tree/sub/b.sh", 0o755)
    for path in [directory, *directory.rglob("*")]:
        os.utime(path, (mtime, mtime), follow_symlinks=False)
    return directory


def _build(work: Path, context: Path, umask: int, *flags: str, env: dict[str, str] | None = None) -> Built:
    layout = work / "layout"
    result = subprocess.run(
        [sys.executable, "-m", "executor", "--context", str(context), "--root", str(work / "root"),
         "--kaniko-dir", str(work / "kaniko"), "--no-push", "--oci-layout-path", str(layout),
         "--digest-file", str(work / "digest"), *flags],
        capture_output=True, text=True, timeout=300, preexec_fn=lambda: os.umask(umask),
        env={**os.environ, "DOCKER_CONFIG": str(work / "no-docker-config"), **(env or {})})
    assert result.returncode == 0, result.stderr
    return Built((work / "digest").read_text().strip(), layout)


def _twice(tmp_path: Path, base: str, flags: tuple[str, ...], env: dict[str, str]) -> tuple[Built, Built]:
    now = time.time()
    first = _build(tmp_path / "one", _context(tmp_path / "ctx-one", base, now - 5000), 0o022,
                   *flags, env=env)
    time.sleep(1.1)  # another second of the clock for every "now" the build might write
    second = _build(tmp_path / "two", _context(tmp_path / "ctx-two", base, now - 100), 0o077,
                    *flags, env=env)
    return first, second


MODES = {
    "reproducible": ((("--reproducible",), {}), 0),
    "source-date-epoch-env": (((), {"SOURCE_DATE_EPOCH": str(EPOCH)}), EPOCH),
    "source-date-epoch-flag": ((("--source-date-epoch", str(EPOCH)), {"SOURCE_DATE_EPOCH": "1"}), EPOCH),
}


@pytest.mark.parametrize("mode", sorted(MODES))
def test_two_builds_are_the_same_image(tmp_path: Path, busybox_image: str, mode: str) -> None:
    (flags, env), epoch = MODES[mode]
    first, second = _twice(tmp_path, busybox_image, flags, env)
    assert first.digest == second.digest, diff_layouts(first.layout, second.layout)

    _, manifest = read_manifest(first.layout)
    config = json.loads(read_blob(first.layout, manifest["config"]["digest"]))
    when = "1970-01-01T00:00:00Z" if epoch == 0 else "2023-11-14T22:13:20Z"
    assert config["created"] == when
    assert config["history"][-1]["created"] == when
    assert manifest["annotations"]["org.opencontainers.image.created"] == when
    built = manifest["layers"][-3:]  # COPY, COPY, RUN
    entries = {member.name: (member, body) for layer in built
               for member, body in tar_entries(read_blob(first.layout, layer["digest"]))}
    # every timestamp clamped (or, --reproducible, zeroed): no file time of the context or of RUN
    assert {member.mtime for member, _ in entries.values()} == {epoch}
    assert all(not member.uname and not member.gname for member, _ in entries.values())
    # the executor's umask (077 for the second) reached neither COPY's directories nor RUN's files
    assert entries["app"][0].mode == 0o755 and entries["out/made"][0].mode == 0o755
    assert entries["out/made/file"][0].mode == 0o644
    assert entries["app/tree/sub/b.sh"][0].mode == 0o755 and entries["app/top.txt"][0].mode == 0o644
    # BuildKit's SOURCE_DATE_EPOCH build arg reaches RUN through ARG
    assert entries["out/made/file"][1] == f"built at {epoch if epoch else ''}\n".encode()


def test_a_changed_byte_is_another_image(tmp_path: Path, busybox_image: str) -> None:
    env = {"SOURCE_DATE_EPOCH": str(EPOCH)}
    first = _build(tmp_path / "one", _context(tmp_path / "ctx-one", busybox_image, time.time()),
                   0o022, env=env)
    changed = {**FILES, "tree/a.txt": b"b\n"}
    second = _build(tmp_path / "two", _context(tmp_path / "ctx-two", busybox_image, time.time(),
                                               changed), 0o022, env=env)
    assert first.digest != second.digest
    assert "entry" in diff_layouts(first.layout, second.layout)  # the diff names the entry


def test_older_timestamps_are_kept(tmp_path: Path, busybox_image: str) -> None:
    """SOURCE_DATE_EPOCH clamps, as BuildKit's rewrite-timestamp: an older file keeps its time."""
    old = EPOCH - 86_400
    built = _build(tmp_path / "one", _context(tmp_path / "ctx", busybox_image, old), 0o022,
                   "--source-date-epoch", str(EPOCH))
    _, manifest = read_manifest(built.layout)
    copied = dict((m.name, m) for m, _ in tar_entries(read_blob(built.layout, manifest["layers"][-2]["digest"])))
    assert copied["app/tree/a.txt"].mtime == old
    assert copied["app/tree/a.txt"].type == tarfile.REGTYPE


def test_a_cached_layer_is_not_reused_under_another_epoch(tmp_path: Path, busybox_image: str) -> None:
    """A layer cached by a build without SOURCE_DATE_EPOCH has today's times: a build with it
    must not take that layer (the epoch is part of the cache key). No ARG SOURCE_DATE_EPOCH
    here: its value would be in the key already."""
    cache = f"oci:{tmp_path / 'cache'}"
    dockerfile = "\n".join(line for line in DOCKERFILE.splitlines() if not line.startswith("ARG"))
    context = _context(tmp_path / "ctx", busybox_image, time.time(), dockerfile=dockerfile)
    flags = ("--cache", "--cache-repo", cache, "--cache-copy-layers")
    _build(tmp_path / "plain", context, 0o022, *flags)
    built = _build(tmp_path / "epoch", context, 0o022, *flags, env={"SOURCE_DATE_EPOCH": str(EPOCH)})
    _, manifest = read_manifest(built.layout)
    for layer in manifest["layers"][-3:]:
        assert {m.mtime for m, _ in tar_entries(read_blob(built.layout, layer["digest"]))} == {EPOCH}


@pytest.mark.parametrize(("flags", "env", "fragment"), [
    (("--source-date-epoch", "soon"), {}, "--source-date-epoch 'soon': expected a Unix time"),
    ((), {"SOURCE_DATE_EPOCH": "-5"}, "SOURCE_DATE_EPOCH '-5'"),
    (("--reproducible", "--source-date-epoch", "5"), {}, "contradict"),
])
def test_bad_epochs_are_usage_errors(tmp_path: Path, flags: tuple[str, ...], env: dict[str, str],
                                     fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_options(["--context", str(tmp_path), "--no-push", *flags], env=env)


def test_reproducible_wins_over_the_environment(tmp_path: Path) -> None:
    options = parse_options(["--context", str(tmp_path), "--no-push", "--reproducible"],
                            env={"SOURCE_DATE_EPOCH": str(EPOCH)})
    assert options.snapshot.reproducible and options.snapshot.source_date_epoch is None
