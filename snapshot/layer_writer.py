"""Stream the changes of a snapshot as a layer: tar -> compression -> out, digests on the way."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import stat
import tarfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from .compression import Compressor, make_compressor
from .index import SnapshotIndex
from .snapshotter import Changes
from .xattrs import read_xattrs

__all__ = ["LayerInfo", "OPAQUE_WHITEOUT", "WHITEOUT_PREFIX", "write_layer"]

log = logging.getLogger(__name__)

CHUNK = 1 << 20
WHITEOUT_PREFIX = ".wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"


@dataclass(frozen=True, slots=True)
class LayerInfo:
    diff_id: str  # "sha256:..." of the uncompressed tar
    digest: str  # "sha256:..." of the blob as written to out
    size: int  # bytes written to out
    uncompressed_size: int


def write_layer(
    root: Path,
    changes: Changes,
    index: SnapshotIndex,
    out: BinaryIO,
    *,
    compression: str = "gzip",
    level: int | None = None,
    reproducible: bool = False,
    source_date_epoch: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> LayerInfo:
    """Write a layer of ``changes`` (files read from ``root`` now) to ``out``.

    Each changed path comes with its parent directories; each deleted path becomes a
    ``parent/.wh.name`` whiteout. Names are sorted, so parents precede children. Hardlinked
    files are written once and linked after; ``index`` supplies unchanged paths of the same
    inode, the lowest of which is written too so that the link survives in the image.
    ``reproducible`` writes every timestamp as 0 (the epoch), so the layer depends only on
    content, modes and owners; ``source_date_epoch`` writes every timestamp newer than it as it
    (BuildKit's rewrite-timestamp). ``level`` None is the format's default. ``progress`` is
    told the tar bytes as they are written.
    """
    sink = _DigestingSink(out, make_compressor(compression, level), progress)
    plan = _plan(changes, index)
    # Not "w|": tarfile's stream buffer re-slices bytes on every write. Plain "w" on a sink that
    # only counts for tell() streams just the same and never seeks.
    tar = tarfile.TarFile(
        fileobj=sink,  # type: ignore[arg-type]
        mode="w",
        format=tarfile.PAX_FORMAT,
        encoding="utf-8",
        errors="surrogateescape",
        copybufsize=CHUNK,
    )
    with tar:
        entries = _EntryWriter(os.fspath(root), tar,
                               latest=0 if reproducible else source_date_epoch,
                               clamp_only=not reproducible)
        for name, is_whiteout in plan:
            if is_whiteout:
                entries.whiteout(name)
            else:
                entries.path(name)
    return sink.finish()


def _plan(changes: Changes, index: SnapshotIndex) -> list[tuple[str, bool]]:
    """Sorted (name, is_whiteout) of everything the layer holds."""
    names: dict[str, bool] = {}

    def add(rel: str, is_whiteout: bool) -> None:
        if rel in names:
            return
        names[rel] = is_whiteout
        cut = rel.rfind("/")
        while cut != -1:
            parent = rel[:cut]
            if parent in names:
                break  # added earlier, together with its own parents
            names[parent] = False
            cut = rel.rfind("/", 0, cut)

    for rel in changes.changed:
        add(rel, False)
    for rel in changes.deleted:
        cut = rel.rfind("/")
        add(rel[: cut + 1] + WHITEOUT_PREFIX + rel[cut + 1 :], True)
    for rel in _hardlink_anchors(changes.changed, index):
        add(rel, False)
    return sorted(names.items())


def _hardlink_anchors(changed: Iterable[str], index: SnapshotIndex) -> list[str]:
    """For each inode with changed paths and also unchanged ones, the lowest unchanged path."""
    groups: set[tuple[int, int]] = set()
    changed_set = set()
    for rel in changed:
        state = index.get(rel)
        if state is not None and state.nlink > 1 and stat.S_ISREG(state.mode):
            groups.add((state.dev, state.ino))
            changed_set.add(rel)
    if not groups:
        return []
    lowest: dict[tuple[int, int], str] = {}
    for rel, dev, ino in index.hardlinked():
        key = (dev, ino)
        if key in groups and rel not in changed_set:
            current = lowest.get(key)
            if current is None or rel < current:
                lowest[key] = rel
    return sorted(lowest.values())


class _DigestingSink:
    """The tar's file object: hashes the tar, compresses, hashes and counts the blob, writes."""

    def __init__(self, out: BinaryIO, compressor: Compressor,
                 progress: Callable[[int], None] | None = None) -> None:
        self._out = out
        self._progress = progress
        self._compressor = compressor
        self._tar_hash = hashlib.sha256()
        self._blob_hash = hashlib.sha256()
        self._tar_size = 0
        self._blob_size = 0

    def write(self, data: bytes) -> int:
        self._tar_hash.update(data)
        self._tar_size += len(data)
        self._emit(self._compressor.compress(data))
        if self._progress is not None:
            self._progress(len(data))
        return len(data)

    def tell(self) -> int:
        return self._tar_size

    def _emit(self, blob: bytes) -> None:
        if blob:
            if not self._compressor.identity:
                self._blob_hash.update(blob)
            self._blob_size += len(blob)
            self._out.write(blob)

    def finish(self) -> LayerInfo:
        self._emit(self._compressor.flush())
        diff_id = "sha256:" + self._tar_hash.hexdigest()
        digest = diff_id if self._compressor.identity else "sha256:" + self._blob_hash.hexdigest()
        return LayerInfo(
            diff_id=diff_id,
            digest=digest,
            size=self._blob_size,
            uncompressed_size=self._tar_size,
        )


class _ExactReader:
    """A file body of exactly ``size`` bytes: a file that shrank since its header was made is
    padded with zeros and one that grew is cut, so the archive stays well-formed."""

    def __init__(self, fd: int, size: int, path: str) -> None:
        self._fd = fd
        self._left = size
        self._path = path

    def read(self, n: int) -> bytes:
        n = min(n, self._left)
        parts = []
        got = 0
        while got < n:
            data = os.read(self._fd, n - got)
            if not data:
                log.warning("%s shrank while being written to a layer; padding", self._path)
                parts.append(bytes(n - got))
                got = n
                break
            parts.append(data)
            got += len(data)
        self._left -= got
        return parts[0] if len(parts) == 1 else b"".join(parts)


class _EntryWriter:
    def __init__(self, root: str, tar: tarfile.TarFile, *, latest: int | None = None,
                 clamp_only: bool = True) -> None:
        """``latest``: no timestamp written is later than it; with ``clamp_only`` False every
        timestamp is it (kaniko's --reproducible: 0, even for a file dated before 1970)."""
        self._root = root
        self._tar = tar
        self._latest = latest
        self._clamp_only = clamp_only
        self._inodes: dict[tuple[int, int], str] = {}  # hardlinked inode -> first name written

    def _add(self, info: tarfile.TarInfo, body: _ExactReader | None = None) -> None:
        self._tar.addfile(info, body)  # type: ignore[arg-type]
        self._tar.members.clear()  # type: ignore[attr-defined]  # tarfile keeps every TarInfo; a layer may have 10^5 of them

    def _mtime(self, seconds: int) -> int:
        # whole seconds only: tarfile then puts no PAX mtime (nor atime/ctime) record in
        latest = self._latest
        if latest is None:
            return seconds
        return min(seconds, latest) if self._clamp_only else latest

    def whiteout(self, name: str) -> None:
        # What Docker and BuildKit emit: an empty regular file, mode 0, owned by root.
        info = tarfile.TarInfo(name)
        info.mode = 0
        info.mtime = 0
        self._add(info)

    def path(self, rel: str) -> None:
        path = self._root + "/" + rel
        try:
            self._write(rel, path)
        except (FileNotFoundError, NotADirectoryError):
            log.debug("%s vanished before it could be written to the layer; skipped", path)

    def _write(self, rel: str, path: str) -> None:
        st = os.lstat(path)
        mode = st.st_mode
        info = tarfile.TarInfo(rel)
        info.mode = stat.S_IMODE(mode)
        info.uid = st.st_uid
        info.gid = st.st_gid
        info.uname = info.gname = ""
        info.mtime = self._mtime(st.st_mtime_ns // 1_000_000_000)
        if stat.S_ISREG(mode):
            self._regular(info, path, st)
            return
        if stat.S_ISDIR(mode):
            info.type = tarfile.DIRTYPE
        elif stat.S_ISLNK(mode):
            info.type = tarfile.SYMTYPE
            info.linkname = os.readlink(path)
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            info.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
            info.devmajor = os.major(st.st_rdev)
            info.devminor = os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            info.type = tarfile.FIFOTYPE
        else:
            log.debug("%s is a socket or unknown file type; not written to the layer", path)
            return
        _set_xattrs(info, read_xattrs(path))
        self._add(info)

    def _regular(self, info: tarfile.TarInfo, path: str, st: os.stat_result) -> None:
        key = (st.st_dev, st.st_ino)
        if st.st_nlink > 1:
            first = self._inodes.get(key)
            if first is not None:
                info.type = tarfile.LNKTYPE
                info.linkname = first
                self._add(info)
                return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as e:
            if isinstance(e, (FileNotFoundError, NotADirectoryError)) or e.errno == errno.ELOOP:
                log.debug("%s was replaced before it could be read; skipped", path)
                return
            raise
        try:
            info.type = tarfile.REGTYPE
            info.size = st.st_size
            _set_xattrs(info, read_xattrs(fd))
            self._add(info, _ExactReader(fd, st.st_size, path))
        finally:
            os.close(fd)
        if st.st_nlink > 1:
            self._inodes[key] = info.name


def _set_xattrs(info: tarfile.TarInfo, xattrs: tuple[tuple[str, bytes], ...] | None) -> None:
    if xattrs:
        # tarfile writes str values; surrogateescape keeps binary values (capabilities) exact.
        info.pax_headers = {
            "SCHILY.xattr." + name: value.decode("utf-8", "surrogateescape")
            for name, value in xattrs
        }
