"""Paths inside the build root, resolved as the image would see them (chroot semantics)."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from executor.errors import BuildError

MAX_SYMLINK_HOPS = 40


def resolve_in_root(root: Path, path: str, *, follow_final: bool = True) -> Path:
    """The host path of image path ``path``: symlinks are followed inside ``root``.

    An absolute link target is taken relative to the root and ``..`` stops at the root, exactly as
    the process in the container would see it, so the result never lies outside ``root``.
    """
    parts = [p for p in path.split("/") if p not in ("", ".")]
    resolved: list[str] = []
    hops = 0
    while parts:
        part = parts.pop(0)
        if part == "..":
            if resolved:
                resolved.pop()
            continue
        candidate = root.joinpath(*resolved, part)
        if (parts or follow_final) and candidate.is_symlink():
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise BuildError(f"too many levels of symbolic links resolving {path!r} in the image")
            target = os.readlink(candidate)
            if target.startswith("/"):
                resolved = []
            parts = [p for p in target.split("/") if p not in ("", ".")] + parts
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


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
