"""Multi-platform builds: a linux/amd64 + linux/arm64 busybox base under one index, and the
machine's QEMU user emulation for arm64 (scripts/setup.sh registers qemu-aarch64)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from executor.builder.emulation import BINFMT_DIR, check_emulation
from executor.errors import UsageError
from executor.image import Platform
from tests.container.images import executor_image, make_bundle
from tests.support.executor import ExecutorRun, run_executor
from tests.support.images import push_busybox_index
from tests.support.registry import RunningRegistry

AMD64, ARM64 = Platform("linux", "amd64"), Platform("linux", "arm64")

__all__ = ["AMD64", "ARM64", "arm64_emulation", "build", "busybox_index", "executor_image",
           "kaniko_bundle", "manifest_of"]


@pytest.fixture(scope="session")
def kaniko_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``/kaniko`` as scripts/bundle-kaniko-dir assembles it (for ``executor_image``)."""
    return make_bundle(tmp_path_factory.mktemp("bundle"))


@pytest.fixture(scope="session")
def busybox_index(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``HOST/busybox-multi:latest``: an OCI index of busybox for linux/amd64 and linux/arm64."""
    return push_busybox_index(registry, tmp_path_factory.mktemp("busybox-index"))


@pytest.fixture(scope="session")
def arm64_emulation() -> None:
    """This machine runs arm64 binaries (a binfmt_misc handler with the F flag), as the tests of
    foreign RUN steps need; scripts/setup.sh sets it up."""
    try:
        check_emulation([ARM64], AMD64, BINFMT_DIR)
    except UsageError as error:
        pytest.fail(f"{error} (scripts/setup.sh does this)")


def build(workdir: Path, context: Path, *args: str, env: dict[str, str] | None = None) -> ExecutorRun:
    """The executor in a --root sandbox, pulling and pushing over plain HTTP, logging JSON."""
    return run_executor(workdir, context, "--insecure", "--insecure-pull", "--log-format=json",
                        *args, env=env)


def manifest_of(ref: str) -> tuple[bytes, dict]:
    """The raw bytes and the document of what ``ref`` names (an index or an image manifest), as
    the registry serves it."""
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                         check=True, capture_output=True).stdout
    return raw, json.loads(raw)
