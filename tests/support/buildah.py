"""buildah (Debian's, --isolation chroot, vfs storage) as the reference builder."""

from __future__ import annotations

import subprocess
from pathlib import Path

from .registry import RunningRegistry


def buildah_build_and_push(workdir: Path, context: Path, registry: RunningRegistry, destination: str,
                           build_args: dict[str, str] | None = None, target: str | None = None) -> None:
    """``buildah bud`` into a fresh storage under ``workdir``, then push to ``destination``."""
    storage = ["--root", str(workdir / "storage"), "--runroot", str(workdir / "run"),
               "--storage-driver", "vfs"]
    args = ["buildah", *storage, "bud", "--isolation", "chroot", "--format", "docker",
            "--tls-verify=false", "--quiet", "-f", str(context / "Dockerfile"), "-t", "lamina-reference"]
    for key, value in (build_args or {}).items():
        args += ["--build-arg", f"{key}={value}"]
    if target:
        args += ["--target", target]
    subprocess.run([*args, str(context)], check=True, capture_output=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(workdir)})
    subprocess.run(["buildah", *storage, "push", "--tls-verify=false", "--quiet", "lamina-reference",
                    f"docker://{destination}"], check=True, capture_output=True,
                   env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "HOME": str(workdir)})
