"""The bench's plans with lamina for real, on busybox bases, small: the unused-stage workload's heavy
RUN never runs; the cached plan's second build fetches no base layer (counted as the bench counts
it); the platforms plan makes an index of both platforms and one image a platform."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path
from typing import Any

from bench.plans import Setting, base_blob_gets, run_builder
from bench.workloads import PLATFORMS, WORKLOADS, BaseImages, Workload
from tests.cache.cache_builds import JSON_LOG, pushed_image, ran
from tests.platforms.conftest import manifest_of
from tests.registry.servers import FlakyProxy, serve
from tests.support.executor import ExecutorRun, run_executor
from tests.support.images import push_busybox_index
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry


def test_the_unused_stage_workload_never_runs_its_heavy_stage(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = WORKLOADS["unused-stage"].write_context(tmp_path / "context", BaseImages(
        busybox=busybox_image, debian="", bigbase=""))
    destination = registry.ref("bench-unused-stage", "test")
    run = run_executor(tmp_path / "build", context, "--destination", destination, JSON_LOG)
    assert run.returncode == 0, run.stderr
    assert ran(run) == ["echo light > /app/light"]  # the heavy stage's RUN never ran
    assert [e["index"] for e in run.named("stage.start")] == [1]
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/app/light"].content == b"light\n" and "/heavy" not in tree


def _setting(workload: Workload, context: Path, host: str, **more: Any) -> Setting:
    return Setting(workload=workload, context=context, host=host, lamina_context=context,
                   lamina_host=host, **more)


def test_the_cached_plan_counts_no_base_layer_get_in_the_second_build(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    workload = dataclasses.replace(WORKLOADS["cached"], name="cached-test", needs=("busybox",),
                                   dockerfile="FROM {busybox}\nRUN echo one > /one\n")
    layers = tuple(pushed_image(registry, busybox_image).layers)
    counter = FlakyProxy(registry.host)
    with serve(counter.handle) as host:
        base = busybox_image.replace(registry.host, host)
        context = workload.write_context(tmp_path / "context", BaseImages(busybox=base, debian="",
                                                                          bigbase=""))
        setting = _setting(workload, context, host, counter=counter, base_layers=layers,
                           lamina_flags=(JSON_LOG,))
        outcome = run_builder("lamina", setting, tmp_path / "work", 0)
        assert any(request == "GET /v2/busybox/manifests/latest" for request in counter.seen)
        counter.seen.clear()  # the count is of real GETs: a pull through the proxy makes them
        subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{base}",
                        f"dir:{tmp_path / 'pulled'}"], check=True, capture_output=True)
        assert base_blob_gets(counter.seen, layers) == len(layers) == 2

    assert outcome.first is not None
    assert outcome.first.returncode == 0, outcome.first.stderr
    assert outcome.measurement.returncode == 0, outcome.measurement.stderr
    assert outcome.base_blob_gets == 0
    work = tmp_path / "work"
    second = ExecutorRun(0, "", (work / "lamina.log").read_text(), work / "second/root",
                         work / "second/kaniko")
    assert ran(second) == [] and second.named("root.built") == []


def test_the_platforms_plan_builds_one_index_and_one_image_a_platform(
        tmp_path: Path, registry: RunningRegistry) -> None:
    index = push_busybox_index(registry, tmp_path / "index")
    workload = WORKLOADS["multiplatform"]
    context = workload.write_context(tmp_path / "context", BaseImages(
        busybox="", debian="", bigbase="", busybox_multi=index))
    outcome = run_builder("lamina", _setting(workload, context, registry.host), tmp_path / "work", 0)
    assert outcome.measurement.returncode == 0, outcome.measurement.stderr
    assert outcome.split is not None
    assert outcome.split.returncode == 0, outcome.split.stderr
    assert [name for name, _ in outcome.split.phases] == list(PLATFORMS)

    _, document = manifest_of(f"{registry.host}/bench-multiplatform:lamina")
    assert sorted(m["platform"]["architecture"] for m in document["manifests"]) == ["amd64", "arm64"]
    for platform, machine in zip(PLATFORMS, ("x86_64", "aarch64"), strict=True):
        arch = platform.rsplit("/", 1)[1]
        both = pull_image(registry, f"{registry.host}/bench-multiplatform:lamina",
                          tmp_path / f"both-{arch}", platform).rootfs
        alone = pull_image(registry, f"{registry.host}/bench-multiplatform:lamina-{arch}",
                           tmp_path / arch).rootfs
        for rootfs in (both, alone):
            assert (rootfs / "arch").read_text() == f"{machine}\n"
            assert (rootfs / "target").read_text() == f"{arch}\n"
            assert (rootfs / "count").read_text().strip() == "2001"
            assert (rootfs / "app/info").read_text() == "built on x86_64\n"
