"""Find what changed under a root since the last snapshot, hashing only what stat says moved."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import xxhash

from .ignore import IgnoreList
from .index import STAT_SIZE, SnapshotIndex, Xattrs, entry_state, pack_stat
from .walk import walk_dirs
from .xattrs import read_xattrs

__all__ = ["Changes", "ContentDigester", "DigestHints", "SNAPSHOT_MODES", "Snapshotter"]

CHUNK = 1 << 20

# kaniko's --snapshot-mode. "full": a path changed when anything a layer records changed,
# content by xxhash, re-read only when its stat facts moved. "redo": when its mtime, size, mode,
# uid or gid changed (no content read). "time": when its mtime changed.
SNAPSHOT_MODES = ("full", "redo", "time")
# Byte ranges of a STAT_RECORD that each mode compares (see snapshot.index for the layout).
_COMPARED = {"full": ((0, STAT_SIZE),), "redo": ((0, 12), (16, 32)), "time": ((24, 32),)}

# Digests already known for inodes of the root: st_ino -> a record (packed stat facts at the time
# the digest was taken, then the digest). The extractor makes them while it writes a layer.
DigestHints = dict[int, bytes]


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
        mode: str = "full",
    ) -> None:
        if mode not in SNAPSHOT_MODES:
            raise ValueError(f"unknown snapshot mode {mode!r}; use one of {SNAPSHOT_MODES}")
        self._root = Path(root)
        self._ignore = ignore
        self._index = index if index is not None else SnapshotIndex()
        self._digest_file = digest_file if digest_file is not None else ContentDigester()
        self._mode = mode

    @property
    def root(self) -> Path:
        return self._root

    @property
    def ignore(self) -> IgnoreList:
        return self._ignore

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def index(self) -> SnapshotIndex:
        """The index as of the last take (immutable; a later take makes a new one)."""
        return self._index

    def seed(self, index: SnapshotIndex) -> None:
        """Make ``index`` the baseline the next take compares against."""
        self._index = index

    def take(self, *, hints: DigestHints | None = None) -> Changes:
        """Walk the root and report what changed. ``hints`` supplies content digests already
        known (from extraction); one is used only while the file's stat facts, ctime included,
        are exactly those it was taken with, so a later write is always re-read."""
        old_records = self._index._records
        old_extras = self._index._extras
        lookup = old_records.get  # the bare dicts: this loop runs once per file in the root
        records: dict[str, bytes] = {}
        extras: dict[str, tuple[str | None, Xattrs | None]] = {}
        changed: list[str] = []
        root = os.fspath(self._root)
        full = self._mode == "full"
        ranges = _COMPARED[self._mode]
        pack = pack_stat
        for prefix, entries in walk_dirs(root, self._ignore):
            for entry in entries:
                rel = prefix + entry.name
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                packed = pack(st)
                prev = lookup(rel)
                if prev is not None and (prev.startswith(packed) if full
                                         else all(prev[a:b] == packed[a:b] for a, b in ranges)):
                    # Nothing a layer records moved (full), or nothing the mode looks at.
                    records[rel] = prev
                    if old_extras and rel in old_extras:
                        extras[rel] = old_extras[rel]
                    continue
                try:
                    if full:
                        record, extra = self._read_state(root + "/" + rel, st, packed, hints)
                    else:
                        record, extra = packed, _link_only(root + "/" + rel, st)
                except (FileNotFoundError, NotADirectoryError):
                    continue  # vanished since the walk saw it: it is simply not there
                records[rel] = record
                if extra is not None:
                    extras[rel] = extra
                if (prev is None or not full
                        or not entry_state(prev, old_extras.get(rel)).same_layer_content(
                            entry_state(record, extra))):
                    changed.append(rel)
        deleted = _reportable_deletions(old_records, records)
        self._index = SnapshotIndex._adopt(records, extras)
        changed.sort()
        return Changes(changed=changed, deleted=deleted)

    def _read_state(self, path: str, st: os.stat_result, packed: bytes, hints: DigestHints | None
                    ) -> tuple[bytes, tuple[str | None, Xattrs | None] | None]:
        mode = st.st_mode
        record = packed
        linkname = None
        if stat.S_ISREG(mode):
            hint = hints.get(st.st_ino) if hints else None
            if hint is not None and hint.startswith(packed):
                record = hint  # the same bytes: no copy kept per file
            else:
                record = packed + self._digest_file(path)
        elif stat.S_ISLNK(mode):
            linkname = os.readlink(path)
        xattrs = read_xattrs(path)
        return record, ((linkname, xattrs) if linkname is not None or xattrs != () else None)


def _link_only(path: str, st: os.stat_result) -> tuple[str | None, Xattrs | None] | None:
    """redo and time modes read no content and no xattrs; a symlink's target is still kept."""
    return (os.readlink(path), ()) if stat.S_ISLNK(st.st_mode) else None


def _reportable_deletions(old: dict[str, bytes], new: dict[str, bytes]) -> list[str]:
    """Deleted paths whose parent is still a real directory: below a deleted directory, or below
    a directory replaced by a file or symlink, the deletion is implied by the parent's entry."""
    deleted: list[str] = []
    for rel in old:
        if rel in new:
            continue
        cut = rel.rfind("/")
        if cut != -1:
            parent = new.get(rel[:cut])
            if parent is None or not stat.S_ISDIR(int.from_bytes(parent[:4], "little")):
                continue
        deleted.append(rel)
    deleted.sort()
    return deleted
