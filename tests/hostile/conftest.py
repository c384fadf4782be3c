"""The hostile corpus: each case a small crafted layer, context or Dockerfile, made here rather
than checked in, and a build that must either contain it or fail with one clean line."""

from __future__ import annotations

import io
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.executor import write_context
from tests.support.images import skopeo_push, write_oci_layout
from tests.support.inprocess import InProcessRun, build_in_process
from tests.support.registry import RunningRegistry

CANARY_TEXT = "the host's own file\n"


@dataclass(frozen=True)
class Canary:
    """A directory outside the build root with one file: after the build, exactly that."""

    directory: Path

    def intact(self) -> bool:
        return [p.name for p in self.directory.iterdir()] == ["file"] and \
            (self.directory / "file").read_text() == CANARY_TEXT


@pytest.fixture
def canary(tmp_path: Path) -> Canary:
    directory = tmp_path / "outside"
    directory.mkdir()
    (directory / "file").write_text(CANARY_TEXT)
    return Canary(directory)


def tar_of(*members: tuple[tarfile.TarInfo, bytes | None], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, linkname: str = "", mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.mode = kind, linkname, mode
    return info


def push_base(registry: RunningRegistry, workdir: Path, name: str, layers: list[bytes],
              diff_ids: list[str] | None = None) -> str:
    layout = workdir / f"{name}-layout"
    write_oci_layout(layout, "latest", list(layers), {}, diff_ids=diff_ids)
    return skopeo_push(f"oci:{layout}:latest", registry, f"hostile/{name}", "latest")


def pushed(ref: str) -> bool:
    return subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          capture_output=True).returncode == 0


@dataclass(frozen=True)
class HostileBuild:
    run: InProcessRun
    destination: str
    root: Path


def build(workdir: Path, registry: RunningRegistry, dockerfile: str,
          files: dict[str, str | bytes] | None = None, *args: str) -> HostileBuild:
    context = write_context(workdir / "context", dockerfile, files)
    destination = registry.ref("hostile/result", workdir.name[-24:].lower().replace("_", "-").strip("-"))
    return HostileBuild(build_in_process(workdir, context, "--destination", destination, *args),
                        destination, workdir / "root")


def assert_refused(result: HostileBuild, *fragments: str) -> str:
    """Failed with one short error line holding ``fragments``; nothing was pushed."""
    assert result.run.returncode != 0
    [line] = result.run.error_lines
    for fragment in fragments:
        assert fragment in line, line
    assert len(line) < 400, f"{len(line)} characters: hostile data echoed"
    assert not pushed(result.destination)
    return line
