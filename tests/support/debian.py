"""A Debian bookworm minbase root made with debootstrap against Debian's mirror, once per machine.

The root is cached as an uncompressed tar under ``$LAMINA_CACHE`` (default ``~/.cache/lamina``), so
the slower suite and the benchmark pay for debootstrap once; a lock keeps parallel runs from racing.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .images import skopeo_push, write_oci_layout
from .registry import RunningRegistry

MIRROR = os.environ.get("LAMINA_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def cache_dir() -> Path:
    path = Path(os.environ.get("LAMINA_CACHE", Path.home() / ".cache" / "lamina"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def debian_rootfs_tar() -> Path:
    """The cached tar of ``debootstrap --variant=minbase bookworm`` (apt caches emptied)."""
    target = cache_dir() / "debian-bookworm-minbase.tar"
    if target.exists():
        return target
    with open(cache_dir() / ".debian.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if target.exists():
            return target
        work = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir()))
        try:
            root = work / "root"
            subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(root), MIRROR],
                           check=True, capture_output=True)
            for leftovers in ("var/cache/apt/archives", "var/lib/apt/lists"):
                for entry in (root / leftovers).glob("*"):
                    if entry.is_file():
                        entry.unlink()
            partial = work / "root.tar"
            subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(root), "-cf", str(partial),
                            "."], check=True, capture_output=True)
            partial.rename(target)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    return target


def extract_debian_rootfs(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(dest), "-xf", str(debian_rootfs_tar())],
                   check=True, capture_output=True)
    return dest


def push_debian(registry: RunningRegistry, workdir: Path, repository: str = "debian",
                tag: str = "bookworm", extra_layers: list[Path] | None = None) -> str:
    """Push the Debian root as a one-layer image (plus ``extra_layers`` tars) to the registry."""
    layout = workdir / "debian-layout"
    write_oci_layout(layout, tag, [debian_rootfs_tar(), *(extra_layers or [])],
                     {"Cmd": ["bash"]})
    return skopeo_push(f"oci:{layout}:{tag}", registry, repository, tag)
