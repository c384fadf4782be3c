"""A registry proxy failing on purpose: the build retries and succeeds, or fails leaving no
manifest that points at a missing blob."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.registry.servers import Fault, FlakyProxy, serve
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = "FROM {base}\nRUN echo faulty > /faulty\n"


def _build(tmp_path: Path, registry: RunningRegistry, busybox_image: str, plan: list[Fault],
           repository: str, *flags: str) -> tuple[int, str, FlakyProxy]:
    proxy = FlakyProxy(registry.host, plan=plan)
    with serve(proxy.handle) as host:
        base = busybox_image.replace(registry.host, host)
        context = write_context(tmp_path / "context", DOCKERFILE.format(base=base))
        run = run_executor(tmp_path, context, "--destination", f"{host}/{repository}:1", *flags)
    return run.returncode, run.stderr, proxy


def _pushed(registry: RunningRegistry, repository: str) -> bool:
    return subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                           f"docker://{registry.host}/{repository}:1"],
                          capture_output=True).returncode == 0


@pytest.mark.parametrize("plan", [
    [Fault("GET", "/manifests/", "503", 2)],
    [Fault("GET", "/blobs/sha256", "429", 1)],
    [Fault("GET", "/blobs/sha256", "cut-response", 2)],  # cut mid-blob while pulling
    [Fault("PUT", "/blobs/uploads/", "cut-request", 1)],  # cut mid-blob while pushing
    [Fault("PUT", "/blobs/uploads/", "500", 1), Fault("PUT", "/manifests/", "502", 1)],
], ids=["503-manifest", "429-retry-after", "cut-download", "cut-upload", "500-put"])
def test_transient_faults_are_retried(tmp_path: Path, registry: RunningRegistry,
                                      busybox_image: str, plan: list[Fault]) -> None:
    repository = f"faults/{tmp_path.name.lower()[-20:].strip('_-')}"
    code, stderr, proxy = _build(tmp_path, registry, busybox_image, plan, repository)
    assert code == 0, stderr
    assert all(fault.times == 0 for fault in plan), proxy.seen  # every fault did happen
    assert _pushed(registry, repository)


def test_persistent_failure_leaves_no_manifest(tmp_path: Path, registry: RunningRegistry,
                                               busybox_image: str) -> None:
    plan = [Fault("PUT", "/blobs/uploads/", "500", -1)]
    code, stderr, proxy = _build(tmp_path, registry, busybox_image, plan, "faults/never")
    assert code != 0
    assert len([line for line in stderr.splitlines() if line.startswith("error:")]) == 1
    assert not any(s.startswith("PUT") and "/manifests/" in s for s in proxy.seen)
    assert not _pushed(registry, "faults/never")
