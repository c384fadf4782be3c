"""Builders sharing one cache at the same moment: all succeed, every entry left behind is whole and
hashes right, and a later build finds every step in it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cache.cache_builds import (
    JSON_LOG,
    cache_hits,
    check_layout_cache,
    check_registry_cache,
    finish_build,
    ran,
    start_build,
)
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base}
RUN cat /proc/sys/kernel/random/uuid > /first
RUN true
COPY a.txt /a.txt
RUN cat /a.txt /proc/sys/kernel/random/uuid > /second
"""
STEPS = 4  # cacheable steps (with --cache-copy-layers)


@pytest.mark.slow
@pytest.mark.parametrize("store", ["registry", "oci"])
def test_three_builders_at_once_leave_a_valid_cache(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_image: str, store: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image),
                            {"a.txt": "a\n"})
    repository = f"concurrent/{store}-cache"
    cache_repo = (f"oci:{tmp_path / 'cache'}" if store == "oci"
                  else f"{registry.host}/{repository}")
    flags = ("--no-push", "--cache", "--cache-repo", cache_repo, "--cache-copy-layers")

    workdirs = [tmp_path / f"builder{n}" for n in range(3)]
    processes = [start_build(workdir, context, *flags) for workdir in workdirs]
    runs = [finish_build(workdir, process) for workdir, process in zip(workdirs, processes)]
    for run in runs:
        assert run.returncode == 0, run.stderr

    entries = (check_layout_cache(tmp_path / "cache") if store == "oci"
               else check_registry_cache(registry, repository))
    assert entries == STEPS

    fourth = run_executor(tmp_path / "builder3", context, JSON_LOG, *flags)
    assert fourth.returncode == 0, fourth.stderr
    assert ran(fourth) == [] and cache_hits(fourth) == STEPS
