"""Find what changed under a root since the last snapshot, hashing only what stat says moved."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from .ignore import IgnoreList
from .index import EntryState, SnapshotIndex
from .walk import walk
from .xattrs import read_xattrs

__all__ = ["Changes", "ContentDigester", "Snapshotter"]

CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Changes:
    """Sorted root-relative paths: added or modified, and deleted. A deleted directory is listed
    alone (its descendants are implied); so is a path whose parent is no longer a directory."""

    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.changed or self.deleted)


class ContentDigester:
    """xxh3_128 of a regular file's content, read in 1 MiB chunks through one reused buffer."""

    def __init__(self, chunk_size: int = CHUNK) -> None:
        self._buf = bytearray(chunk_size)
        self._view = memoryview(self._buf)

    def __call__(self, path: str) -> bytes:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            h = xxhash.xxh3_128()
            view = self._view
            while n := os.readv(fd, (self._buf,)):
                h.update(view[:n])
            return h.digest()
        finally:
            os.close(fd)


class Snapshotter:
    """Keeps the index of one root and reports what changed since the previous ``take()``.

    The first take (empty index) reports everything; the executor uses it as the baseline after
    extracting a base image. ``index=`` seeds the baseline from an earlier take instead.
    """

    def __init__(
        self,
        root: Path,
        ignore: IgnoreList,
        *,
        index: SnapshotIndex | None = None,
        digest_file: Callable[[str], bytes] | None = None,
    ) -> None:
        self._root = Path(root)
        self._ignore = ignore
        self._index = index if index is not None else SnapshotIndex()
        self._digest_file = digest_file if digest_file is not None else ContentDigester()

    @property
    def root(self) -> Path:
        return self._root

    @property
    def ignore(self) -> IgnoreList:
        return self._ignore

    @property
    def index(self) -> SnapshotIndex:
        """The index as of the last take (immutable; a later take makes a new one)."""
        return self._index

    def seed(self, index: SnapshotIndex) -> None:
        """Make ``index`` the baseline the next take compares against."""
        self._index = index

    def take(self) -> Changes:
        old = self._index
        lookup = old._entries.get  # the bare dict: this loop runs once per file in the root
        new: dict[str, EntryState] = {}
        changed: list[str] = []
        root = os.fspath(self._root)
        for rel, st in walk(self._root, self._ignore):
            prev = lookup(rel)
            # Fast path, inlined: identical stat facts mean nothing a layer records moved.
            if (
                prev is not None
                and prev.mtime_ns == st.st_mtime_ns
                and prev.ctime_ns == st.st_ctime_ns
                and prev.size == st.st_size
                and prev.ino == st.st_ino
                and prev.mode == st.st_mode
                and prev.uid == st.st_uid
                and prev.gid == st.st_gid
                and prev.nlink == st.st_nlink
                and prev.rdev == st.st_rdev
                and prev.dev == st.st_dev
            ):
                new[rel] = prev
                continue
            try:
                state = self._read_state(root + "/" + rel, st)
            except (FileNotFoundError, NotADirectoryError):
                continue  # vanished since the walk saw it: it is simply not there
            new[rel] = state
            if prev is None or not prev.same_layer_content(state):
                changed.append(rel)
        deleted = _reportable_deletions(old, new)
        self._index = SnapshotIndex._adopt(new)
        changed.sort()
        return Changes(changed=changed, deleted=deleted)

    def _read_state(self, path: str, st: os.stat_result) -> EntryState:
        mode = st.st_mode
        digest = linkname = None
        if stat.S_ISREG(mode):
            digest = self._digest_file(path)
        elif stat.S_ISLNK(mode):
            linkname = os.readlink(path)
        return EntryState(
            mode=mode,
            uid=st.st_uid,
            gid=st.st_gid,
            size=st.st_size,
            mtime_ns=st.st_mtime_ns,
            ctime_ns=st.st_ctime_ns,
            ino=st.st_ino,
            nlink=st.st_nlink,
            rdev=st.st_rdev,
            linkname=linkname,
            digest=digest,
            xattrs=read_xattrs(path),
            dev=st.st_dev,
        )


def _reportable_deletions(old: SnapshotIndex, new: dict[str, EntryState]) -> list[str]:
    """Deleted paths whose parent is still a real directory: below a deleted directory, or below
    a directory replaced by a file or symlink, the deletion is implied by the parent's entry."""
    S_ISDIR = stat.S_ISDIR
    deleted: list[str] = []
    for rel in old._entries:
        if rel in new:
            continue
        cut = rel.rfind("/")
        if cut != -1:
            parent = new.get(rel[:cut])
            if parent is None or not S_ISDIR(parent.mode):
                continue
        deleted.append(rel)
    deleted.sort()
    return deleted
