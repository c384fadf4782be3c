"""A registry proxy failing on purpose: the build retries and succeeds, or fails leaving no
manifest that points at a missing blob."""

from __future__ import annotations

import json
import subprocess
import tarfile
from pathlib import Path

import pytest

from tests.registry.servers import Fault, FlakyProxy, serve
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
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


def _first_layer(registry: RunningRegistry, image: str) -> str:
    raw = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{image}"],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(raw)["layers"][0]["digest"]


def test_extract_retry_starts_the_base_again_after_a_download_that_fails_for_good(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    layer = _first_layer(registry, busybox_image)
    # the first GET of the layer and its 3 resumes are all cut: that extraction fails for good
    cuts = 4

    code, stderr, _ = _build(tmp_path / "without", registry, busybox_image,
                             [Fault("GET", f"/blobs/{layer}", "cut-response", cuts)],
                             "faults/extract-no-retry")
    assert code != 0
    errors = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and layer in errors[0], stderr
    assert not _pushed(registry, "faults/extract-no-retry")

    repository = "faults/extract-retry"
    plan = [Fault("GET", f"/blobs/{layer}", "cut-response", cuts + 1)]
    code, stderr, proxy = _build(tmp_path / "with", registry, busybox_image, plan, repository,
                                 "--image-fs-extract-retry", "1")
    assert code == 0, stderr
    assert plan[0].times == 0, proxy.seen  # the second extraction was cut once more, and resumed
    assert "extracting again (retry 1 of 1)" in stderr
    # the base's layers as they are, then a RUN layer holding exactly the RUN's file: nothing of
    # the failed attempt leaked into the snapshot
    pulled = pull_image(registry, f"{registry.host}/{repository}:1", tmp_path / "readback")
    base = json.loads(subprocess.run(
        ["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{busybox_image}"],
        capture_output=True, text=True, check=True).stdout)
    layers = [entry["digest"] for entry in pulled.manifest["layers"]]
    assert layers[:-1] == [entry["digest"] for entry in base["layers"]]
    blob = pulled.layout / "blobs" / "sha256" / layers[-1].split(":", 1)[1]
    with tarfile.open(blob) as run_layer:
        assert run_layer.getnames() == ["faulty"]
    assert (pulled.rootfs / "faulty").read_text() == "faulty\n"
    assert (pulled.rootfs / "bin" / "busybox").is_file()
