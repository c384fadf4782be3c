"""The cross-compiling pattern: a ``FROM --platform=$BUILDPLATFORM`` stage runs natively; one that
does not depend on TARGET* is built once and shared by every platform (the same layers, by
digest), one that declares TARGETARCH is built per platform, natively still."""

from __future__ import annotations

from pathlib import Path

from tests.platforms.conftest import build, manifest_of
from tests.support.executor import write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM --platform=$BUILDPLATFORM {base} AS tools
RUN echo "tools made on $(uname -m)" > /tools
FROM tools AS compile
ARG TARGETARCH
RUN echo "compiled on $(uname -m) for $TARGETARCH" > /program
FROM {base}
COPY --from=tools /tools /tools
COPY --from=compile /program /program
RUN uname -m > /arch
"""


def test_the_native_stages_build_once_or_per_target(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_index: str, arm64_emulation: None) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_index))
    destination = registry.ref("cross", "latest")
    run = build(tmp_path, context, "--custom-platform", "linux/amd64,linux/arm64",
                "--destination", destination, "--reproducible")
    assert run.returncode == 0, run.stderr
    started = [(e["index"], e["target"], e["platform"]) for e in run.named("stage.start")]
    assert started == [(0, "linux/amd64", "linux/amd64"), (1, "linux/amd64", "linux/amd64"),
                       (2, "linux/amd64", "linux/amd64"),
                       # tools: shared; compile declares TARGETARCH: again, natively
                       (1, "linux/arm64", "linux/amd64"), (2, "linux/arm64", "linux/arm64")]
    [shared] = run.named("stage.shared")
    assert (shared["index"], shared["name"], shared["target"], shared["built_for"]) == (
        0, "tools", "linux/arm64", "linux/amd64")
    _, index = manifest_of(destination)
    amd64, arm64 = (pull_image(registry, destination, tmp_path / arch, f"linux/{arch}")
                    for arch in ("amd64", "arm64"))
    for pulled, target, machine in ((amd64, "amd64", "x86_64"), (arm64, "arm64", "aarch64")):
        assert (pulled.rootfs / "tools").read_text() == "tools made on x86_64\n"
        assert (pulled.rootfs / "program").read_text() == f"compiled on x86_64 for {target}\n"
        assert (pulled.rootfs / "arch").read_text() == f"{machine}\n"
    # the tools' RUN ran once; compile's twice, the final stage's once per platform
    lines = [e["line"] for e in run.named("step.start") if e["keyword"] == "RUN"]
    assert sorted(lines) == [2, 5, 5, 9, 9]
    assert len(index["manifests"]) == 2
