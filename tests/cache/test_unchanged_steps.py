"""A RUN that changes no files is cached too (as "this step changed nothing"): a second build runs
no RUN at all and makes the same image, empty_layer history entries included, with either store."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cache.cache_builds import (
    JSON_LOG,
    cache_hits,
    check_layout_cache,
    check_registry_cache,
    pushed_image,
    ran,
)
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base}
RUN cat /proc/sys/kernel/random/uuid > /before
RUN true
RUN echo hi
RUN cat /proc/sys/kernel/random/uuid > /after
"""


@pytest.mark.parametrize("store", ["registry", "oci"])
def test_a_run_that_changes_nothing_is_not_run_again(tmp_path: Path, registry: RunningRegistry,
                                                     busybox_image: str, store: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    repository = f"unchanged/{store}-cache"
    cache_repo = (f"oci:{tmp_path / 'cache'}" if store == "oci"
                  else f"{registry.host}/{repository}")

    def build(name: str):
        ref = registry.ref(f"unchanged/{store}", name)
        run = run_executor(tmp_path / name, context, "--destination", ref, "--cache",
                           "--cache-repo", cache_repo, JSON_LOG)
        assert run.returncode == 0, run.stderr
        return run, pushed_image(registry, ref)

    first, first_image = build("one")
    assert len(ran(first)) == 4
    assert first_image.empty_layers[-4:] == [False, True, True, False]
    entries = (check_layout_cache(tmp_path / "cache") if store == "oci"
               else check_registry_cache(registry, repository))
    assert entries == 4  # the two RUNs that changed nothing have entries too

    second, second_image = build("two")
    assert ran(second) == []
    assert cache_hits(second) == 4
    assert cache_hits(second, with_layer=False) == 2  # the steps that changed no files
    assert second_image == first_image  # layers, history length, empty_layer flags, commands
