"""What a differential case is: a small Dockerfile built by lamina and by docker build (BuildKit),
the reference, and most also by buildah as a second opinion; each case names the Docker rule it
pins down.

Every place where a builder and lamina disagree is a recorded ``Disagreement``: where (an image path,
``config:Key``, or ``build`` when one side refuses the Dockerfile), who is right and why. Docker is
right unless the record says otherwise with a reason. Every other difference fails the test. A case
that pins down an error Docker makes is ``refused``: both must refuse it.

A Dockerfile names its base as ``{base}`` (the busybox image, PATH in its Env) or ``{bare}`` (the same
root, its config with no Env and no Cmd at all).
"""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass, field


def tar_gz(entries: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o640, 1_600_000_000
            info.uid, info.gid = 1000, 1000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@dataclass(frozen=True)
class Disagreement:
    builder: str  # "docker" or "buildah": who differs from lamina
    where: str  # an image path, "config:Key", or "build" (one side refuses the Dockerfile)
    right: str  # "docker", "buildah" or "lamina"
    why: str


def buildah_wrong(where: str, why: str) -> Disagreement:
    """buildah differs from both docker and lamina (docker is right)."""
    return Disagreement("buildah", where, "docker", why)


@dataclass(frozen=True)
class Case:
    name: str
    dockerfile: str  # "{base}": the busybox image; "{bare}": the same with no Env and no Cmd
    files: dict[str, str | bytes] = field(default_factory=dict)
    build_args: dict[str, str] = field(default_factory=dict)
    disagreements: tuple[Disagreement, ...] = ()
    symlinks: dict[str, str] = field(default_factory=dict)  # context symlinks: name -> target
    modes: dict[str, int] = field(default_factory=dict)  # context file modes
    target: str | None = None
    buildah: bool = True  # False: buildah 1.28 cannot build it (a BuildKit-only feature)
    refused: bool = False  # docker and lamina must both refuse it (an error Docker makes)

    @property
    def build_flags(self) -> list[str]:
        """``--build-arg K=V`` and ``--target`` as both lamina and docker take them."""
        flags = [arg for key, value in self.build_args.items() for arg in ("--build-arg", f"{key}={value}")]
        return [*flags, "--target", self.target] if self.target else flags

    def differs(self, builder: str) -> dict[str, Disagreement]:
        return {d.where: d for d in self.disagreements if d.builder == builder}


FILES = {"a.txt": "a\n", "b.txt": "b\n", "dir/one.txt": "one\n", "dir/sub/two.txt": "two\n",
         "script.sh": "#!/bin/sh\necho script\n"}
