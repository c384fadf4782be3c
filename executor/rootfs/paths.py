"""Image paths inside the build root: made absolute against WORKDIR, resolved as the image sees
them (snapshot's resolver, clamped at the root), and created as ``mkdir -p`` would."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from executor.errors import BuildError
from snapshot.rootfs import SymlinkLoop
from snapshot.rootfs import resolve_in_root as _resolve


def resolve_in_root(root: Path, path: str, *, follow_final: bool = True) -> Path:
    """The host path of image path ``path``, exactly as a process chrooted into ``root`` sees
    it: symlinks followed inside the root, ``..`` stopping at the root, so the result never lies
    outside ``root``."""
    try:
        return _resolve(root, path, follow_final=follow_final)
    except SymlinkLoop:
        raise BuildError(f"too many levels of symbolic links resolving {path!r} in the image") from None

def image_path(workdir: str, path: str) -> str:
    """``path`` made absolute against the image's working directory, keeping a trailing slash."""
    joined = path if path.startswith("/") else posixpath.join(workdir or "/", path)
    cleaned = posixpath.normpath(joined)
    if cleaned.startswith("//"):
        cleaned = "/" + cleaned.lstrip("/")
    if path.endswith("/") and cleaned != "/":
        cleaned += "/"
    return cleaned


def make_directories(root: Path, path: str, *, uid: int = 0, gid: int = 0, mode: int = 0o755) -> Path:
    """``mkdir -p`` of an image path; directories it creates get ``uid:gid`` and ``mode``."""
    target = resolve_in_root(root, path)
    missing = []
    current = target
    while not current.exists() and current != root:
        missing.append(current)
        current = current.parent
    if current.exists() and not current.is_dir():
        raise BuildError(f"cannot create directory {path!r}: {current.relative_to(root)} is not a directory")
    for directory in reversed(missing):
        directory.mkdir()
        os.chown(directory, uid, gid)
        os.chmod(directory, mode)
    return target
