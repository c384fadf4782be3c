"""`executor index`: the scale-out path. Two single-platform builds (one per node, as the Jobs of
k8s/multi-platform.yaml), then an index of what they pushed, equal to the one-job build's; and
what it refuses before writing anything."""

from __future__ import annotations

import hashlib
import subprocess
import sys
import urllib.request
from pathlib import Path

from executor.image.media_types import DOCKER_MANIFEST_LIST, OCI_INDEX
from tests.platforms.conftest import build, manifest_of
from tests.support.executor import write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM --platform=$BUILDPLATFORM {base} AS tools
RUN echo "made on $(uname -m)" > /tools
FROM {base}
ARG TARGETARCH
COPY --from=tools /tools /tools
RUN echo "$TARGETARCH on $(uname -m)" > /arch
"""


def executor_index(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "executor", "index", "--insecure",
                           "--insecure-pull", *args], capture_output=True, text=True, timeout=120)


def test_the_index_of_two_single_platform_builds_is_the_one_job_builds(
        tmp_path: Path, registry: RunningRegistry, busybox_index: str, arm64_emulation: None) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_index))
    one_job = registry.ref("scale", "one-job")
    run = build(tmp_path / "one", context, "--custom-platform", "linux/amd64,linux/arm64",
                "--destination", one_job, "--reproducible")
    assert run.returncode == 0, run.stderr
    for arch in ("amd64", "arm64"):
        run = build(tmp_path / arch, context, "--custom-platform", f"linux/{arch}",
                    "--destination", registry.ref("scale", arch), "--reproducible")
        assert run.returncode == 0, run.stderr
    assembled = registry.ref("scale", "assembled")
    ran = executor_index("--destination", assembled, "--from", registry.ref("scale", "amd64"),
                         "--from", registry.ref("scale", "arm64"),
                         "--digest-file", str(tmp_path / "digest"))
    assert ran.returncode == 0, ran.stderr
    raw, index = manifest_of(assembled)
    expected_raw, expected = manifest_of(one_job)
    assert index["mediaType"] == DOCKER_MANIFEST_LIST
    assert index["manifests"] == expected["manifests"]  # the same images, by digest
    assert raw == expected_raw
    assert (tmp_path / "digest").read_text() == "sha256:" + hashlib.sha256(raw).hexdigest()
    # into another repository: the images' blobs and manifests are copied (mounted) there
    elsewhere = registry.ref("scale-copy", "latest")
    ran = executor_index("--destination", elsewhere, "--from", registry.ref("scale", "arm64"),
                         "--from", registry.ref("scale", "amd64"), "--annotation", "org.example=1")
    assert ran.returncode == 0, ran.stderr
    _, copied = manifest_of(elsewhere)
    assert copied["mediaType"] == OCI_INDEX and copied["annotations"] == {"org.example": "1"}
    assert [m["digest"] for m in copied["manifests"]] == [m["digest"] for m in reversed(expected["manifests"])]
    subprocess.run(["skopeo", "copy", "--quiet", "--all", "--src-tls-verify=false",
                    f"docker://{elsewhere}", f"oci:{tmp_path / 'copied'}:x"], check=True,
                   capture_output=True)


def test_index_refuses_a_platform_twice_an_index_and_a_missing_blob(
        tmp_path: Path, registry: RunningRegistry, busybox_index: str, arm64_emulation: None) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_index}\nRUN uname -m > /machine\n")
    for tag, platform in (("a", "linux/amd64"), ("b", "linux/amd64"), ("c", "linux/arm64")):
        run = build(tmp_path / tag, context, "--custom-platform", platform,
                    "--destination", registry.ref("refuse", tag))
        assert run.returncode == 0, run.stderr
    target = registry.ref("refuse", "index")
    ran = executor_index("--destination", target, "--from", registry.ref("refuse", "a"),
                         "--from", registry.ref("refuse", "b"))
    assert ran.returncode != 0
    [line] = [line for line in ran.stderr.splitlines() if line.startswith("error:")]
    assert "are both linux/amd64 images" in line
    ran = executor_index("--destination", target, "--from", busybox_index,
                         "--from", registry.ref("refuse", "c"))
    assert ran.returncode != 0 and "is an index" in ran.stderr
    # a layer of c deleted from the registry: nothing is pushed
    _, manifest = manifest_of(registry.ref("refuse", "c"))
    layer = manifest["layers"][-1]["digest"]
    request = urllib.request.Request(f"{registry.url}/v2/refuse/blobs/{layer}", method="DELETE")
    urllib.request.urlopen(request).close()
    ran = executor_index("--destination", target, "--from", registry.ref("refuse", "a"),
                         "--from", registry.ref("refuse", "c"))
    assert ran.returncode != 0
    assert f"layer {layer} is missing" in ran.stderr, ran.stderr
    listed = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{target}"],
                            capture_output=True, text=True)
    assert listed.returncode != 0  # no index was put
