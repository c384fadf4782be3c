"""--cache: a second build on a fresh root reuses the layers of the first; exactly the steps
whose inputs changed run again."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from executor.cache import digest_json
from tests.cache.cache_builds import JSON_LOG, cache_hits, ran
from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base}
RUN cat /proc/sys/kernel/random/uuid > /first
COPY a.txt /a.txt
RUN cat /proc/sys/kernel/random/uuid > /second
COPY b.txt /b.txt
ARG FLAVOUR=plain
RUN echo $FLAVOUR > /flavour && cat /proc/sys/kernel/random/uuid > /third
"""


def _build(workdir: Path, context: Path, registry: RunningRegistry, name: str,
           *flags: str) -> ExecutorRun:
    run = run_executor(workdir, context, "--destination", registry.ref(f"cached/{name}"),
                       "--cache", "--cache-repo", f"{registry.host}/cached/layers",
                       "--cache-copy-layers", JSON_LOG, *flags)
    assert run.returncode == 0, run.stderr
    return run


def _layers(registry: RunningRegistry, name: str) -> list[str]:
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                          f"docker://{registry.ref(f'cached/{name}')}"],
                         check=True, capture_output=True).stdout
    return [layer["digest"] for layer in json.loads(raw)["layers"]]


@pytest.mark.slow
def test_second_build_runs_nothing_and_changes_rerun_exactly_what_they_must(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image),
                            {"a.txt": "a1\n", "b.txt": "b1\n", ".dockerignore": "ignored\n",
                             "ignored": "x"})
    first = _build(tmp_path / "one", context, registry, "one")
    assert len(ran(first)) == 3
    base = _layers(registry, "one")

    second = _build(tmp_path / "two", context, registry, "two")
    assert ran(second) == [] and cache_hits(second) == 5
    assert "/first" in ran(first)[0]
    assert _layers(registry, "two") == base  # the very same layers (uuids differ on re-run)

    (context / "ignored").write_text("changed, but .dockerignore'd")
    (context / "b.txt").write_text("b2\n")
    third = _build(tmp_path / "three", context, registry, "three")
    assert [c[-6:] for c in ran(third)] == ["/third"]  # only what follows COPY b.txt
    layers = _layers(registry, "three")
    assert layers[:-2] == base[:-2] and layers[-2:] != base[-2:]

    fourth = _build(tmp_path / "four", context, registry, "four", "--build-arg", "FLAVOUR=spicy")
    assert [c[-6:] for c in ran(fourth)] == ["/third"]  # the RUN that uses the build arg
    assert _layers(registry, "four")[:-1] == layers[:-1]


def test_no_push_cache_reads_but_never_writes(tmp_path: Path, registry: RunningRegistry,
                                              busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\n"
                            "RUN cat /proc/sys/kernel/random/uuid > /once\n")
    args = ("--cache-repo", f"{registry.host}/cached/readonly")
    first = _build(tmp_path / "one", context, registry, "ro1", *args, "--no-push-cache")
    second = _build(tmp_path / "two", context, registry, "ro2", *args)
    assert len(ran(first)) == 1 and len(ran(second)) == 1  # nothing was cached by the first
    third = _build(tmp_path / "three", context, registry, "ro3", *args, "--no-push-cache")
    assert ran(third) == []
    assert _layers(registry, "ro3") == _layers(registry, "ro2")


def test_keys_are_unambiguous() -> None:
    assert digest_json(["ab", "c"]) != digest_json(["a", "bc"])
    assert digest_json({"A": "1 B=2"}) != digest_json({"A": "1", "B": "2"})


@pytest.mark.slow
def test_args_a_stage_inherits_are_in_its_keys(tmp_path: Path, registry: RunningRegistry,
                                               busybox_image: str) -> None:
    """A stage FROM another stage sees that stage's ARGs (BuildKit's rule), so a --build-arg that
    changes one reruns the RUN that reads it, though the parent's image is the very same."""
    context = write_context(tmp_path / "context", f"FROM {busybox_image} AS parent\nARG NAME=plain\n"
                            "FROM parent\nRUN echo $NAME > /name && cat /proc/sys/kernel/random/uuid > /uuid\n")
    args = ("--reproducible", "--cache-repo", f"{registry.host}/cached/inherited")
    first = _build(tmp_path / "one", context, registry, "inherit1", *args, "--build-arg", "NAME=a")
    again = _build(tmp_path / "two", context, registry, "inherit2", *args, "--build-arg", "NAME=a")
    changed = _build(tmp_path / "three", context, registry, "inherit3", *args, "--build-arg", "NAME=b")
    assert len(ran(first)) == 1 and ran(again) == [] and len(ran(changed)) == 1


def test_a_changed_from_stage_reruns_what_reads_it(tmp_path: Path, registry: RunningRegistry,
                                                   busybox_image: str) -> None:
    """COPY --from and RUN --mount from= read another stage's files: their keys cover that
    content, so a change in the earlier stage reruns the RUN after them, never a stale layer."""
    dockerfile = f"""FROM {busybox_image} AS source
COPY a.txt /a.txt
FROM {busybox_image}
COPY --from=source /a.txt /copied.txt
RUN cat /copied.txt > /seen-by-copy.txt
RUN --mount=type=bind,from=source,source=/a.txt,target=/tmp/m cat /tmp/m > /seen-by-mount.txt
"""
    args = ("--reproducible", "--cache-repo", f"{registry.host}/cached/from-stage")
    context = write_context(tmp_path / "context", dockerfile, {"a.txt": "one\n"})
    first = _build(tmp_path / "one", context, registry, "fromstage1", *args)
    again = _build(tmp_path / "two", context, registry, "fromstage2", *args)
    (context / "a.txt").write_text("two\n")
    changed = _build(tmp_path / "three", context, registry, "fromstage3", *args)
    assert len(ran(first)) == 2 and ran(again) == [] and len(ran(changed)) == 2, changed.stderr
    image = pull_image(registry, registry.ref("cached/fromstage3"), tmp_path / "pulled")
    tree = image.tree()
    assert tree["/seen-by-copy.txt"].content == b"two\n"
    assert tree["/seen-by-mount.txt"].content == b"two\n"


def test_a_changed_bind_mounted_context_file_reruns_the_run(tmp_path: Path, registry: RunningRegistry,
                                                            busybox_image: str) -> None:
    """RUN --mount=type=bind reads context files that no layer holds: the key covers them."""
    dockerfile = f"""FROM {busybox_image}
RUN --mount=type=bind,source=req.txt,target=/tmp/req.txt cat /tmp/req.txt > /installed.txt
"""
    args = ("--reproducible", "--cache-repo", f"{registry.host}/cached/bind")
    context = write_context(tmp_path / "context", dockerfile, {"req.txt": "v1\n"})
    first = _build(tmp_path / "one", context, registry, "bind1", *args)
    again = _build(tmp_path / "two", context, registry, "bind2", *args)
    (context / "req.txt").write_text("v2\n")
    changed = _build(tmp_path / "three", context, registry, "bind3", *args)
    assert len(ran(first)) == 1 and ran(again) == [] and len(ran(changed)) == 1, changed.stderr
    tree = pull_image(registry, registry.ref("cached/bind3"), tmp_path / "pulled").tree()
    assert tree["/installed.txt"].content == b"v2\n"
