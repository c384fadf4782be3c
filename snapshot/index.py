"""What a snapshot remembers about each path: stat facts, link target, xattrs, content digest."""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = ["EntryState", "SnapshotIndex", "STAT_RECORD", "STAT_SIZE", "Xattrs", "entry_record", "entry_state",
           "pack_stat"]

Xattrs = tuple[tuple[str, bytes], ...]

# The stat facts of one path packed into 64 bytes: mode, uid, gid, nlink, size, mtime_ns,
# ctime_ns, ino, rdev, dev. The index keeps one bytes object per path (these facts, then the
# 16-byte content digest of a regular file) rather than an object with ten int attributes: a
# 260,000-file root then costs about 50 MB instead of 120 MB, and "did stat change" is one memcmp.
STAT_RECORD = struct.Struct("<IIIIqqqQQQ")
_pack = STAT_RECORD.pack
_unpack = STAT_RECORD.unpack_from
STAT_SIZE = STAT_RECORD.size


def pack_stat(st: os.stat_result) -> bytes:
    return _pack(st.st_mode, st.st_uid, st.st_gid, st.st_nlink, st.st_size, st.st_mtime_ns,
                 st.st_ctime_ns, st.st_ino, st.st_rdev, st.st_dev)


@dataclass(slots=True)
class EntryState:
    """One path as last seen. ``digest`` is xxh3_128 of a regular file's content, else None;
    ``xattrs`` is sorted (name, value) pairs, or None when the filesystem could not list them."""

    mode: int  # full st_mode, type bits included
    uid: int
    gid: int
    size: int
    mtime_ns: int
    ctime_ns: int
    ino: int
    nlink: int
    rdev: int
    linkname: str | None = None
    digest: bytes | None = None
    xattrs: Xattrs | None = None
    dev: int = 0  # with ino, identifies hardlinked paths

    def same_stat(self, st: os.stat_result) -> bool:
        """The cheap test: nothing that changing a file (content, mode, owner, xattrs) leaves
        untouched differs; ctime moves on every such change even if mtime is put back."""
        return (
            self.mtime_ns == st.st_mtime_ns
            and self.ctime_ns == st.st_ctime_ns
            and self.size == st.st_size
            and self.ino == st.st_ino
            and self.mode == st.st_mode
            and self.uid == st.st_uid
            and self.gid == st.st_gid
            and self.nlink == st.st_nlink
            and self.rdev == st.st_rdev
            and self.dev == st.st_dev
        )

    def same_layer_content(self, other: EntryState) -> bool:
        """Equal in everything a layer entry records (so a re-hash that finds this is a no-op)."""
        return (
            self.mode == other.mode
            and self.uid == other.uid
            and self.gid == other.gid
            and self.mtime_ns == other.mtime_ns
            and self.size == other.size
            and self.digest == other.digest
            and self.linkname == other.linkname
            and self.xattrs == other.xattrs
            and self.rdev == other.rdev
        )


def entry_record(state: EntryState) -> bytes:
    """The bytes the index stores for ``state`` (without link target and xattrs)."""
    packed = _pack(state.mode, state.uid, state.gid, state.nlink, state.size, state.mtime_ns,
                   state.ctime_ns, state.ino, state.rdev, state.dev)
    return packed + state.digest if state.digest is not None else packed


def entry_state(record: bytes, extra: tuple[str | None, Xattrs | None] | None) -> EntryState:
    mode, uid, gid, nlink, size, mtime_ns, ctime_ns, ino, rdev, dev = _unpack(record)
    linkname, xattrs = extra if extra is not None else (None, ())
    return EntryState(mode=mode, uid=uid, gid=gid, size=size, mtime_ns=mtime_ns, ctime_ns=ctime_ns,
                      ino=ino, nlink=nlink, rdev=rdev, linkname=linkname,
                      digest=record[STAT_SIZE:] or None, xattrs=xattrs, dev=dev)


class SnapshotIndex(Mapping[str, EntryState]):
    """Root-relative path -> EntryState. Immutable once built: each snapshot makes a new one, so
    an index handed out earlier stays a faithful picture of its moment.

    Stored compactly: ``_records`` maps a path to its packed stat facts plus digest (see
    ``STAT_RECORD``); ``_extras`` holds the few paths with a link target or xattrs (or whose xattrs
    could not be listed: None). ``EntryState`` objects are made on access.
    """

    __slots__ = ("_records", "_extras")

    def __init__(self, entries: Mapping[str, EntryState] | None = None) -> None:
        self._records: dict[str, bytes] = {}
        self._extras: dict[str, tuple[str | None, Xattrs | None]] = {}
        for rel, state in (entries or {}).items():
            self._records[rel] = entry_record(state)
            if state.linkname is not None or state.xattrs != ():
                self._extras[rel] = (state.linkname, state.xattrs)

    @classmethod
    def _adopt(cls, records: dict[str, bytes],
               extras: dict[str, tuple[str | None, Xattrs | None]]) -> SnapshotIndex:
        """Wrap freshly built dicts without copying them (the caller gives up ownership)."""
        index = cls.__new__(cls)
        index._records = records
        index._extras = extras
        return index

    def __getitem__(self, rel: str) -> EntryState:
        return entry_state(self._records[rel], self._extras.get(rel))

    def __contains__(self, rel: object) -> bool:
        return rel in self._records

    def __iter__(self) -> Iterator[str]:
        return iter(self._records)

    def __len__(self) -> int:
        return len(self._records)

    def get(  # type: ignore[override]
        self, rel: str, default: EntryState | None = None
    ) -> EntryState | None:
        record = self._records.get(rel)
        return default if record is None else entry_state(record, self._extras.get(rel))

    def hardlinked(self) -> Iterator[tuple[str, int, int]]:
        """``(rel, dev, ino)`` of every regular file with more than one link, cheaply."""
        for rel, record in self._records.items():
            mode, _, _, nlink, _, _, _, ino, _, dev = _unpack(record)
            if nlink > 1 and (mode & 0o170000) == 0o100000:
                yield rel, dev, ino

    def __repr__(self) -> str:
        return f"SnapshotIndex({len(self._records)} entries)"
