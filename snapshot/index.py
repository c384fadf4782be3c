"""What a snapshot remembers about each path: stat facts, link target, xattrs, content digest."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

__all__ = ["EntryState", "SnapshotIndex", "Xattrs"]

Xattrs = tuple[tuple[str, bytes], ...]


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


class SnapshotIndex(Mapping[str, EntryState]):
    """Root-relative path -> EntryState. Immutable once built: each snapshot makes a new one, so
    an index handed out earlier stays a faithful picture of its moment."""

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, EntryState] | None = None) -> None:
        self._entries: dict[str, EntryState] = dict(entries) if entries else {}

    @classmethod
    def _adopt(cls, entries: dict[str, EntryState]) -> SnapshotIndex:
        """Wrap a freshly built dict without copying it (the caller gives up ownership)."""
        index = cls.__new__(cls)
        index._entries = entries
        return index

    def __getitem__(self, rel: str) -> EntryState:
        return self._entries[rel]

    def __contains__(self, rel: object) -> bool:
        return rel in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def get(  # type: ignore[override]
        self, rel: str, default: EntryState | None = None
    ) -> EntryState | None:
        return self._entries.get(rel, default)

    def __repr__(self) -> str:
        return f"SnapshotIndex({len(self._entries)} entries)"
