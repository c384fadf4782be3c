"""--cache-repo oci:DIR: kaniko's local cache, one OCI image layout per step key in DIR."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from tests.cache.cache_builds import (
    JSON_LOG,
    cache_hits,
    check_layout_cache,
    layout_entries,
    pushed_image,
    ran,
)
from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base}
RUN cat /proc/sys/kernel/random/uuid > /first
COPY a.txt /a.txt
RUN cat /proc/sys/kernel/random/uuid > /second
COPY b.txt /b.txt
RUN cat /b.txt /proc/sys/kernel/random/uuid > /third
"""
ONE_RUN = "FROM {base}\nRUN cat /proc/sys/kernel/random/uuid > /once\n"


def _build(workdir: Path, context: Path, registry: RunningRegistry, cache: Path, name: str,
           *flags: str, succeed: bool = True) -> tuple[ExecutorRun, str]:
    ref = registry.ref("oci-cached/image", name)
    run = run_executor(workdir / name, context, "--destination", ref, "--cache",
                       "--cache-repo", f"oci:{cache}", "--cache-copy-layers", JSON_LOG, *flags)
    if succeed:
        assert run.returncode == 0, run.stderr
    return run, ref


def _files(directory: Path) -> dict[str, tuple[int, int, bytes | None]]:
    """Every path under ``directory`` with its mtime, size and (for files) content."""
    found = {}
    for path in sorted(directory.rglob("*")):
        st = path.lstat()
        found[str(path.relative_to(directory))] = (
            st.st_mtime_ns, st.st_size, path.read_bytes() if path.is_file() else None)
    return found


@pytest.mark.slow
def test_second_build_runs_nothing_and_a_changed_file_reruns_from_its_copy(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image),
                            {"a.txt": "a1\n", "b.txt": "b1\n"})
    cache = tmp_path / "cache"
    first, ref = _build(tmp_path, context, registry, cache, "one")
    assert len(ran(first)) == 3
    image = pushed_image(registry, ref)
    assert check_layout_cache(cache) == 5  # three RUNs and two COPYs, each a valid layout
    [entry, *_] = layout_entries(cache)
    subprocess.run(["umoci", "stat", "--image", f"{entry}:latest"], check=True,
                   capture_output=True)

    second, ref = _build(tmp_path, context, registry, cache, "two")
    assert ran(second) == [] and cache_hits(second) == 5
    assert pushed_image(registry, ref) == image  # the very same layers and history

    (context / "b.txt").write_text("b2\n")
    third, ref = _build(tmp_path, context, registry, cache, "three")
    assert [command[-6:] for command in ran(third)] == ["/third"]  # only what follows COPY b.txt
    layers = pushed_image(registry, ref).layers
    assert layers[:-2] == image.layers[:-2] and layers[-2] != image.layers[-2]
    assert check_layout_cache(cache) == 7


def test_no_push_cache_reads_the_directory_and_never_changes_it(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", ONE_RUN.format(base=busybox_image))
    cache = tmp_path / "cache"
    first, _ = _build(tmp_path, context, registry, cache, "ro1", "--no-push-cache")
    assert len(ran(first)) == 1 and not cache.exists()  # not even created

    _build(tmp_path, context, registry, cache, "ro2")
    before = _files(cache)
    third, _ = _build(tmp_path, context, registry, cache, "ro3", "--no-push-cache")
    assert ran(third) == []
    assert _files(cache) == before


def test_an_expired_entry_is_a_miss_and_is_replaced(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_image: str) -> None:
    context = write_context(tmp_path / "context", ONE_RUN.format(base=busybox_image))
    cache = tmp_path / "cache"
    _build(tmp_path, context, registry, cache, "ttl1")
    time.sleep(1.2)
    second, ref = _build(tmp_path, context, registry, cache, "ttl2", "--cache-ttl", "1s")
    assert len(ran(second)) == 1 and "expired" in second.stderr
    assert check_layout_cache(cache) == 1  # updated in place, still one valid layout
    third, third_ref = _build(tmp_path, context, registry, cache, "ttl3")
    assert ran(third) == []
    assert pushed_image(registry, third_ref) == pushed_image(registry, ref)  # the fresh layer


def _layer_blob(cache: Path) -> Path:
    """The layer blob of a cache holding one entry."""
    [entry] = layout_entries(cache)
    blobs = entry / "blobs" / "sha256"
    [descriptor] = json.loads((entry / "index.json").read_text())["manifests"]
    manifest = json.loads((blobs / descriptor["digest"].split(":")[1]).read_text())
    [layer] = manifest["layers"]
    return blobs / layer["digest"].split(":")[1]


def test_a_corrupted_cache_blob_never_makes_a_wrong_image(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", ONE_RUN.format(base=busybox_image))
    cache = tmp_path / "cache"
    _build(tmp_path, context, registry, cache, "bad1")
    blob = _layer_blob(cache)
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF  # same size, one byte wrong: only the digest can tell
    blob.write_bytes(bytes(data))

    # hashed before use: a miss (with a warning), the step runs and the entry is rewritten; the
    # build after that uses the repaired entry
    again, ref = _build(tmp_path, context, registry, cache, "bad2")
    assert len(ran(again)) == 1 and "does not hash to its digest" in again.stderr
    assert check_layout_cache(cache) == 1
    last, last_ref = _build(tmp_path, context, registry, cache, "bad3")
    assert ran(last) == []
    assert pushed_image(registry, last_ref) == pushed_image(registry, ref)

    # a truncated blob is a miss at once
    blob = _layer_blob(cache)
    blob.write_bytes(blob.read_bytes()[:-10])
    truncated, _ = _build(tmp_path, context, registry, cache, "bad4")
    assert len(ran(truncated)) == 1 and "unusable" in truncated.stderr


def test_a_bad_cache_repo_is_one_line(tmp_path: Path, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", ONE_RUN.format(base=busybox_image))
    run = run_executor(tmp_path / "w", context, "--no-push", "--cache", "--cache-repo", "oci:")
    assert run.returncode != 0 and len(run.error_lines) == 1
    assert "oci:" in run.error_lines[0]
