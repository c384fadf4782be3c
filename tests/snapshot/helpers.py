"""Build trees, write and apply layers, and describe trees for comparison."""

from __future__ import annotations

import io
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from snapshot import (
    Changes,
    IgnoreList,
    LayerInfo,
    SnapshotIndex,
    Snapshotter,
    extract_layer,
    open_layer_stream,
    write_layer,
)

NO_IGNORE = IgnoreList()


def xattrs_supported(path: Path) -> bool:
    probe = path / ".xattr-probe"
    probe.write_bytes(b"")
    try:
        os.setxattr(probe, "user.probe", b"1")
        return True
    except OSError:
        return False
    finally:
        probe.unlink()


def write(path: Path, data: bytes | str = b"", mode: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)
    if mode is not None:
        os.chmod(path, mode)
    return path


def make_layer(
    root: Path, changes: Changes, index: SnapshotIndex, compression: str = "gzip"
) -> tuple[bytes, LayerInfo]:
    out = io.BytesIO()
    info = write_layer(root, changes, index, out, compression=compression)
    return out.getvalue(), info


def snapshot_layer(snap: Snapshotter) -> tuple[bytes, LayerInfo, Changes]:
    changes = snap.take()
    blob, info = make_layer(snap.root, changes, snap.index)
    return blob, info, changes


def apply_blob(blob: bytes, dest: Path, ignore: IgnoreList = NO_IGNORE) -> None:
    extract_layer(open_layer_stream(io.BytesIO(blob)), dest, ignore)


def tar_bytes(*members: tuple[tarfile.TarInfo, bytes | None]) -> bytes:
    """A plain tar with the given entries, hand-made (for malicious or unusual layers)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def entry(name: str, kind: bytes = tarfile.REGTYPE, *, linkname: str = "",
          mode: int = 0o644) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = linkname
    info.mode = 0o755 if kind == tarfile.DIRTYPE else mode
    info.mtime = 1_600_000_000
    return info


@dataclass(frozen=True)
class Facts:
    kind: str
    mode: int
    uid: int
    gid: int
    mtime: int | None  # seconds; None for directories (compared separately)
    content: bytes | None
    target: str | None
    rdev: int
    xattrs: tuple[tuple[str, bytes], ...]


def describe(root: Path, *, dir_mtimes: bool = True) -> dict[str, Facts]:
    """Every path below root with what a layer carries; hardlinks reported by describe_links."""
    facts: dict[str, Facts] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            st = os.lstat(path)
            kind = {
                stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink",
                stat.S_IFCHR: "char", stat.S_IFBLK: "block", stat.S_IFIFO: "fifo",
                stat.S_IFSOCK: "socket",
            }[stat.S_IFMT(st.st_mode)]
            try:
                names = sorted(os.listxattr(path, follow_symlinks=False))
                xattrs = tuple((n, os.getxattr(path, n, follow_symlinks=False)) for n in names)
            except OSError:
                xattrs = ()
            facts[rel] = Facts(
                kind=kind,
                mode=stat.S_IMODE(st.st_mode),
                uid=st.st_uid,
                gid=st.st_gid,
                mtime=None if kind == "dir" and not dir_mtimes else st.st_mtime_ns // 10**9,
                content=Path(path).read_bytes() if kind == "file" else None,
                target=os.readlink(path) if kind == "symlink" else None,
                rdev=st.st_rdev,
                xattrs=xattrs,
            )
    return facts


def describe_links(root: Path) -> set[frozenset[str]]:
    """Groups of paths sharing an inode (only groups of two or more)."""
    by_inode: dict[int, set[str]] = {}
    for dirpath, _dirs, filenames in os.walk(root):
        for name in filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if stat.S_ISREG(st.st_mode) and st.st_nlink > 1:
                by_inode.setdefault(st.st_ino, set()).add(os.path.relpath(path, root))
    return {frozenset(g) for g in by_inode.values() if len(g) > 1}
