"""The layer cache (--cache) and the warmer's --cache-dir keep platforms apart: each step's key
chains from its stage's platform, and base images are kept by each platform's manifest digest."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.platforms.conftest import build, manifest_of
from tests.support.executor import write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry


def test_the_layer_cache_holds_each_platforms_steps(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_index: str, arm64_emulation: None) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_index}\nRUN uname -m > /arch\n")
    cache = f"oci:{tmp_path / 'cache'}"
    args = ("--custom-platform", "linux/amd64,linux/arm64", "--cache", "--cache-repo", cache)
    first = build(tmp_path / "first", context, *args, "--destination", registry.ref("cached", "1"))
    assert first.returncode == 0, first.stderr
    assert first.named("step.cached") == []
    second = build(tmp_path / "second", context, *args, "--destination", registry.ref("cached", "2"))
    assert second.returncode == 0, second.stderr
    cached = second.named("step.cached")
    assert len(cached) == 2 and cached[0]["key"] != cached[1]["key"]
    arm64 = pull_image(registry, registry.ref("cached", "2"), tmp_path / "arm64", "linux/arm64")
    assert (arm64.rootfs / "arch").read_text() == "aarch64\n"
    # a single-platform arm64 build finds the arm64 step of the multi-platform one
    single = build(tmp_path / "single", context, "--custom-platform", "linux/arm64", "--cache",
                   "--cache-repo", cache, "--destination", registry.ref("cached", "arm64"))
    assert single.returncode == 0, single.stderr
    assert [e["key"] for e in single.named("step.cached")] == [cached[1]["key"]]


def test_the_warmer_caches_each_platform_and_the_build_takes_each(
        tmp_path: Path, registry: RunningRegistry, busybox_index: str, arm64_emulation: None) -> None:
    cache_dir = tmp_path / "cache-dir"
    warmed = subprocess.run([sys.executable, "-m", "executor.warmer", "--cache-dir", str(cache_dir),
                             "--insecure-pull", "-i", busybox_index,
                             "--custom-platform", "linux/amd64,linux/arm64"],
                            capture_output=True, text=True, timeout=120,
                            env={**os.environ, "KANIKO_DIR": str(tmp_path / "kaniko"),
                                 "DOCKER_CONFIG": str(tmp_path / "no-docker-config")})
    assert warmed.returncode == 0, warmed.stderr
    _, index = manifest_of(busybox_index)
    digests = [m["digest"] for m in index["manifests"]]
    assert {p.name for p in cache_dir.iterdir() if p.name.startswith("sha256:")} >= set(digests)
    context = write_context(tmp_path / "context", f"FROM {busybox_index}\nRUN uname -m > /arch\n")
    run = build(tmp_path / "build", context, "--custom-platform", "linux/amd64,linux/arm64",
                "--cache-dir", str(cache_dir), "--destination", registry.ref("warmed", "latest"))
    assert run.returncode == 0, run.stderr
    taken = [line for line in run.stderr.splitlines() if "config and layers from" in line]
    assert [digest in line for line, digest in zip(taken, digests)] == [True, True], taken
    arm64 = pull_image(registry, registry.ref("warmed", "latest"), tmp_path / "arm64", "linux/arm64")
    assert (arm64.rootfs / "arch").read_text() == "aarch64\n"
