"""`--custom-platform linux/amd64,linux/arm64`: one image per platform, built one after another on
the one root (arm64's RUN under QEMU user emulation), pushed under one index; the same index in the
OCI layout and the OCI archive of --tar-path; the digest files name the index."""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import pytest

from executor.image.media_types import (
    DOCKER_MANIFEST,
    DOCKER_MANIFEST_LIST,
    OCI_INDEX,
    OCI_MANIFEST,
)
from tests.container.images import run_executor_image
from tests.platforms.conftest import build, manifest_of
from tests.support.docker import RunningDocker
from tests.support.executor import write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base}
ARG TARGETPLATFORM
ARG TARGETARCH
ARG BUILDPLATFORM
RUN uname -m > /arch && echo "$TARGETPLATFORM $TARGETARCH $BUILDPLATFORM" > /target && \
    touch /built-for-$TARGETARCH
CMD ["cat", "/arch"]
"""
MACHINES = {"linux/amd64": "x86_64", "linux/arm64": "aarch64"}


def test_two_platforms_push_one_index_of_two_images(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_index: str, arm64_emulation: None) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_index))
    destination = registry.ref("multi", "two")
    run = build(tmp_path, context, "--custom-platform", "linux/amd64,linux/arm64",
                "--destination", destination, "--digest-file", str(tmp_path / "digest"),
                "--image-name-with-digest-file", str(tmp_path / "names"))
    assert run.returncode == 0, run.stderr
    raw, index = manifest_of(destination)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert index["mediaType"] == DOCKER_MANIFEST_LIST  # --image-format docker, the default
    assert [(m["platform"], m["mediaType"]) for m in index["manifests"]] == [
        ({"architecture": "amd64", "os": "linux"}, DOCKER_MANIFEST),
        ({"architecture": "arm64", "os": "linux"}, DOCKER_MANIFEST)]
    assert (tmp_path / "digest").read_text() == digest
    assert (tmp_path / "names").read_text() == f"{registry.host}/multi@{digest}\n"
    assert [e["digest"] for e in run.named("image.built")] == [digest]
    for entry, (platform, machine) in zip(index["manifests"], MACHINES.items()):
        pulled = pull_image(registry, destination, tmp_path / platform.replace("/", "-"), platform)
        assert pulled.manifest_digest == entry["digest"]
        assert (pulled.config["os"], pulled.config["architecture"]) == tuple(platform.split("/"))
        assert (pulled.rootfs / "arch").read_text() == f"{machine}\n"
        arch = platform.split("/")[1]
        assert (pulled.rootfs / "target").read_text() == f"{platform} {arch} linux/amd64\n"
        # the root was wiped between the platforms: nothing of amd64's build in arm64's image
        assert sorted(p.name for p in pulled.rootfs.glob("built-for-*")) == [f"built-for-{arch}"]
    # the stages were built one after another, each platform's base pulled for it
    assert [(e["index"], e["platform"]) for e in run.named("stage.start")] == [
        (0, "linux/amd64"), (0, "linux/arm64")]


def test_platform_spelling_oci_format_layout_and_archive(tmp_path: Path, registry: RunningRegistry,
                                                         busybox_index: str, arm64_emulation: None) -> None:
    """BuildKit's --platform; --image-format oci makes an OCI index; --oci-layout-path holds the
    index, --tar-path is the same layout in a tar; both copy to a registry as the pushed index."""
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_index))
    destination = registry.ref("multi", "oci")
    layout, archive = tmp_path / "layout", tmp_path / "image.tar"
    run = build(tmp_path, context, "--platform=linux/arm64,linux/amd64", "--image-format=oci",
                "--destination", destination, "--oci-layout-path", str(layout),
                "--tar-path", str(archive), "--digest-file", str(tmp_path / "digest"))
    assert run.returncode == 0, run.stderr
    raw, index = manifest_of(destination)
    digest = "sha256:" + hashlib.sha256(raw).hexdigest()
    assert index["mediaType"] == OCI_INDEX
    assert [m["platform"]["architecture"] for m in index["manifests"]] == ["arm64", "amd64"]
    assert {m["mediaType"] for m in index["manifests"]} == {OCI_MANIFEST}
    assert (tmp_path / "digest").read_text() == digest
    [named] = json.loads((layout / "index.json").read_text())["manifests"]
    assert (named["digest"], named["mediaType"]) == (digest, OCI_INDEX)
    assert (layout / "blobs/sha256" / digest.split(":")[1]).read_bytes() == raw
    for source, tag in ((f"oci:{layout}:{destination}", "from-layout"),
                        (f"oci-archive:{archive}:{destination}", "from-archive")):
        copy = registry.ref("multi", tag)
        subprocess.run(["skopeo", "copy", "--quiet", "--all", "--preserve-digests",
                        "--dest-tls-verify=false", source, f"docker://{copy}"],
                       check=True, capture_output=True)
        assert manifest_of(copy)[0] == raw


@pytest.mark.docker
def test_docker_runs_the_arm64_image(tmp_path: Path, registry: RunningRegistry, busybox_index: str,
                                     arm64_emulation: None, docker: RunningDocker) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_index))
    destination = registry.ref("multi", "docker")
    run = build(tmp_path, context, "--custom-platform", "linux/amd64,linux/arm64",
                "--destination", destination)
    assert run.returncode == 0, run.stderr
    for platform, machine in MACHINES.items():
        ran = docker.run("run", "--rm", "--network", "host", "--platform", platform, destination)
        assert ran.stdout == f"{machine}\n"
        # what the container itself runs on: arm64's busybox under the host's emulation
        ran = docker.run("run", "--rm", "--network", "host", "--platform", platform, destination,
                         "uname", "-m")
        assert ran.stdout == f"{machine}\n"


@pytest.mark.docker
@pytest.mark.slow
def test_container_mode_builds_the_platforms_in_turn_on_its_own_root(
        tmp_path: Path, registry: RunningRegistry, busybox_index: str, arm64_emulation: None,
        docker: RunningDocker, executor_image: str) -> None:
    """The executor image under ``docker run`` (on / of its container, where binfmt_misc is not
    mounted; RUN confined by Landlock, so it writes under /etc, not into / itself): arm64's RUN
    under the host's binfmt_misc handler, / wiped between the platforms."""
    context = write_context(tmp_path / "context", f"""FROM {busybox_index}
ARG TARGETARCH
RUN uname -m > /etc/arch && touch /etc/built-for-$TARGETARCH
""")
    destination = registry.ref("multi", "container")
    code, log = run_executor_image(docker, executor_image, context, "--custom-platform",
                                   "linux/amd64,linux/arm64", "--destination", destination)
    assert code == 0, log[-3000:]
    for platform, machine in MACHINES.items():
        arch = platform.split("/")[1]
        pulled = pull_image(registry, destination, tmp_path / arch, platform)
        assert (pulled.rootfs / "etc/arch").read_text() == f"{machine}\n"
        assert sorted(p.name for p in pulled.rootfs.glob("etc/built-for-*")) == [f"built-for-{arch}"]
        assert pulled.config["architecture"] == arch
    assert "binfmt_misc is not mounted here; a stub for arm64 ran" in log
