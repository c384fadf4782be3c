"""Multi-stage builds: FROM <stage>, COPY --from (name, index, image), --target, unused stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.executor import run_executor, write_context
from tests.support.readback import PulledImage, pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
ARG BASE
ARG GREETING=hi
FROM ${BASE} AS builder
ARG GREETING
RUN mkdir -p /out/bin /out/etc && echo "$GREETING from builder" > /out/etc/msg \\
    && cp /bin/busybox /out/bin/tool && chmod 4755 /out/bin/tool \\
    && ln /out/etc/msg /out/etc/msg-link && chown 1000:50 /out/etc/msg && ln -s msg /out/etc/msg-sym
FROM builder AS second
RUN echo second > /out/second
ONBUILD RUN echo "should not run in this build" > /onbuild-ran
FROM ${BASE} AS unused
RUN echo unused > /unused
FROM ${BASE}
COPY --from=builder /out /opt/out
COPY --from=1 /out/second /second
COPY --from=${BASE} /etc/os-release /base-os-release
RUN test ! -e /unused && cat /opt/out/etc/msg > /copied-msg
"""


@pytest.fixture(scope="module")
def built(registry: RunningRegistry, busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> PulledImage:
    work = tmp_path_factory.mktemp("multistage")
    context = write_context(work / "context", DOCKERFILE)
    destination = registry.ref("multistage/final")
    run = run_executor(work, context, "--destination", destination, "--build-arg", f"BASE={busybox_image}")
    assert run.returncode == 0, run.stderr
    assert "building stage 2" not in run.stderr  # the unused stage, as BuildKit
    return pull_image(registry, destination, work / "pulled")


def test_copy_from_stage_keeps_setuid_hardlinks_and_symlinks(built: PulledImage) -> None:
    tree = built.tree()
    assert tree["/opt/out/etc/msg"].content == b"hi from builder\n"
    assert tree["/opt/out/bin/tool"].mode == 0o4755
    assert tree["/opt/out/etc/msg-sym"].target == "msg"
    assert (built.rootfs / "opt/out/etc/msg").stat().st_ino == (built.rootfs / "opt/out/etc/msg-link").stat().st_ino
    assert tree["/second"].content == b"second\n"
    assert tree["/base-os-release"].content == b"NAME=lamina-busybox\n"
    assert tree["/copied-msg"].content == b"hi from builder\n"
    assert "/unused" not in tree and "/out" not in tree and "/onbuild-ran" not in tree


def test_final_config_is_the_last_stage(built: PulledImage) -> None:
    assert "OnBuild" not in built.run_config or not built.run_config["OnBuild"]
    created_by = [h["created_by"] for h in built.config["history"]]
    assert not any("builder" in c and c.startswith("RUN mkdir") for c in created_by)


@pytest.mark.parametrize("flag", [(), ("--skip-unused-stages",)], ids=["default", "flag"])
def test_target_and_skip_unused_stages(flag: tuple[str, ...], tmp_path: Path, registry: RunningRegistry,
                                       busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE)
    destination = registry.ref("multistage/second")
    run = run_executor(tmp_path, context, "--destination", destination, "--target", "second",
                       *flag, "--build-arg", f"BASE={busybox_image}")
    assert run.returncode == 0, run.stderr
    assert "building stage 2" not in run.stderr and "building stage 3" not in run.stderr
    image = pull_image(registry, destination, tmp_path / "pulled")
    tree = image.tree()
    assert tree["/out/second"].content == b"second\n"
    assert tree["/out/etc/msg"].content == b"hi from builder\n"
    assert image.run_config["OnBuild"] == ['RUN echo "should not run in this build" > /onbuild-ran']


UNUSED_STAGE = """FROM {base} AS heavy
RUN echo ran > /tmp/heavy-ran && false
FROM {base} AS used
RUN echo used > /used
FROM {base}
COPY --from=used /used /used
"""


def test_an_unused_stage_is_not_built_unless_asked(tmp_path: Path, registry: RunningRegistry,
                                                   busybox_image: str) -> None:
    """BuildKit's rule by default: the failing RUN of a stage nothing needs never runs; with
    --skip-unused-stages=false (kaniko v1's rule) it runs, and fails the build."""
    context = write_context(tmp_path / "context", UNUSED_STAGE.format(base=busybox_image))
    destination = registry.ref("multistage/unused")
    run = run_executor(tmp_path / "default", context, "--destination", destination)
    assert run.returncode == 0, run.stderr
    assert "heavy-ran" not in run.stderr and "RUN echo ran" not in run.stderr
    assert not (run.root / "tmp/heavy-ran").exists()
    assert pull_image(registry, destination, tmp_path / "pulled").tree()["/used"].content == b"used\n"
    everything = run_executor(tmp_path / "all", context, "--destination", registry.ref("multistage/all"),
                              "--skip-unused-stages=false")
    assert everything.returncode != 0
    assert everything.error_lines == ["error: Dockerfile:2: RUN 'echo ran > /tmp/heavy-ran && false' "
                                      "returned a non-zero code: 1"], everything.stderr


def test_onbuild_triggers_run_in_the_child_image(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str) -> None:
    parent = write_context(tmp_path / "parent", f"FROM {busybox_image}\nONBUILD COPY marker.txt /from-onbuild.txt\n"
                                                "ONBUILD RUN echo ran > /onbuild-ran\n")
    parent_ref = registry.ref("multistage/onbuild-parent")
    run = run_executor(tmp_path / "p", parent, "--destination", parent_ref)
    assert run.returncode == 0, run.stderr
    child = write_context(tmp_path / "child", f"FROM {parent_ref}\nRUN test -e /onbuild-ran\n",
                          {"marker.txt": "marker\n"})
    child_ref = registry.ref("multistage/onbuild-child")
    run = run_executor(tmp_path / "c", child, "--destination", child_ref)
    assert run.returncode == 0, run.stderr
    image = pull_image(registry, child_ref, tmp_path / "pulled")
    tree = image.tree()
    assert tree["/from-onbuild.txt"].content == b"marker\n"
    assert tree["/onbuild-ran"].content == b"ran\n"
    assert not image.run_config.get("OnBuild")


@pytest.mark.parametrize("dockerfile, fragment", [
    ("FROM {base} AS a\nRUN true\nFROM {base}\nCOPY --from=nope /x /x\n", ":4:"),
    ("FROM {base}\nCOPY --from=later /x /x\nFROM {base} AS later\n", ":2:"),
])
def test_bad_stage_references(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                              dockerfile: str, fragment: str) -> None:
    context = write_context(tmp_path / "context", dockerfile.format(base=busybox_image))
    run = run_executor(tmp_path, context, "--destination", registry.ref("multistage/bad"))
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and fragment in run.error_lines[0], run.stderr


def test_unknown_target(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image} AS one\nRUN true\n")
    run = run_executor(tmp_path, context, "--destination", registry.ref("multistage/bad"), "--target", "two")
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and "two" in run.error_lines[0], run.stderr
