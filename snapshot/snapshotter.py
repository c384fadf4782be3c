"""Find what changed under a root since the last snapshot, hashing only what stat says moved."""

from __future__ import annotations

import os
import stat
import weakref
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import starmap
from pathlib import Path
from typing import overload

import xxhash

from .hints import DigestHints, Hint, directory_hints, stat_check
from .ignore import IgnoreList
from .index import (
    KEY_SIZE,
    STAT_FIELDS,
    STAT_RECORD,
    STAT_SIZE,
    Extra,
    SnapshotIndex,
    entry_state,
    listing_key,
    packed_count,
    packed_has_hardlinks,
)
from .walk import DirectoryRead, read_directory
from .watch import DirectoryWatcher
from .xattrs import read_xattrs

__all__ = ["AllPaths", "Changes", "ContentDigester", "DigestHints", "SNAPSHOT_MODES", "Snapshotter"]

CHUNK = 1 << 20

# kaniko's --snapshot-mode. "full": a path changed when anything a layer records changed,
# content by xxhash, re-read only when its stat facts moved. "redo": when its mtime, size, mode,
# uid or gid changed (no content read). "time": when its mtime changed.
SNAPSHOT_MODES = ("full", "redo", "time")
# Byte ranges of a STAT_RECORD that each mode compares (see snapshot.index for the layout).
_COMPARED = {"full": ((0, STAT_SIZE),), "redo": ((0, 12), (16, 32)), "time": ((24, 32),)}
_INO, _DEV = slice(40, 48), slice(56, 64)  # of a STAT_RECORD: with dev, which inode a path is
_pack = STAT_RECORD.pack
_EMPTY = DirectoryRead(names=[], stats=[], subdirs=[])


class AllPaths(Sequence[str]):
    """Every path of an index, sorted, made only when first looked at: the first snapshot of a
    root reports all of it, and the executor, which takes it as its baseline, never looks (a
    million paths as a list would be 70 MB)."""

    def __init__(self, index: SnapshotIndex) -> None:
        self._index = index
        self._paths: list[str] | None = None

    def _list(self) -> list[str]:
        if self._paths is None:
            self._paths = sorted(self._index)
        return self._paths

    def __len__(self) -> int:
        return len(self._index)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> list[str]: ...

    def __getitem__(self, i: int | slice) -> str | list[str]:
        return self._list()[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._list())

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Sequence) and self._list() == list(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"AllPaths({len(self)} paths)"


@dataclass(frozen=True, slots=True)
class Changes:
    """Sorted root-relative paths: added or modified, and deleted. A deleted directory is listed
    alone (its descendants are implied); so is a path whose parent is no longer a directory."""

    changed: Sequence[str] = field(default_factory=list)
    deleted: Sequence[str] = field(default_factory=list)

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

    With ``watch`` (the default), each take also arms inotify watches on the directories it
    lists (snapshot.watch), and the next take lists again only those that had an event since;
    without, or when the kernel lost events, every take walks the whole root.
    """

    def __init__(
        self,
        root: Path,
        ignore: IgnoreList,
        *,
        index: SnapshotIndex | None = None,
        digest_file: Callable[[str], bytes] | None = None,
        mode: str = "full",
        watch: bool = True,
    ) -> None:
        if mode not in SNAPSHOT_MODES:
            raise ValueError(f"unknown snapshot mode {mode!r}; use one of {SNAPSHOT_MODES}")
        self._root = Path(root)
        self._ignore = ignore
        self._index = index if index is not None else SnapshotIndex()
        self._digest_file = digest_file if digest_file is not None else ContentDigester()
        self._mode = mode
        self._watch = watch
        self._watcher: DirectoryWatcher | None = None
        self._watched: SnapshotIndex | None = None  # the index the watches describe
        self._listed = 0
        # Ignored paths by parent directory: each listing skips its own few names.
        skip: dict[str, set[str]] = {}
        for rel in ignore.paths:
            cut = rel.rfind("/")
            skip.setdefault(rel[:cut + 1], set()).add(rel[cut + 1:])
        self._skip = {prefix: frozenset(names) for prefix, names in skip.items()}

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

    @property
    def listed(self) -> int:
        """How many directories the last take listed (the others it reused, being watched and
        untouched)."""
        return self._listed

    def seed(self, index: SnapshotIndex) -> None:
        """Make ``index`` the baseline the next take compares against."""
        self._index = index
        self._watched = None

    def take(self, *, hints: DigestHints | None = None, full: bool = False) -> Changes:
        """Walk the root and report what changed. ``hints`` supplies content digests already
        known (from extraction; the take consumes them); one is used only while the file's stat
        facts, ctime included, are exactly those it was taken with, so a later write is always
        re-read. ``full`` lists every directory, whatever the watches say (after a command that had
        directories outside the root in it, where a hard link's writes raise no event here)."""
        watcher = self._watcher
        if watcher is None and self._watch:
            watcher = self._watcher = DirectoryWatcher()
            weakref.finalize(self, watcher.close)
        incremental = False
        if watcher is not None and watcher.available:
            # Read the events first in any case: those of directories about to be listed are
            # then not mistaken for later ones.
            incremental = watcher.collect() and self._watched is self._index and not full
            if not incremental:
                watcher.forget()
        else:
            watcher = None
        run = _Pass(self, hints, watcher, incremental=incremental)
        result = run.run()
        if result is None:  # a new hardlink may have changed files in directories not listed
            run = _Pass(self, hints, watcher, incremental=False)
            result = run.run()
            assert result is not None
        self._index, changes = result
        self._listed = run.listed
        self._watched = self._index if watcher is not None else None
        return changes


class _Pass:
    """One take: the directories of the root, listed (or, when watched and clean, reused from
    the previous index), compared with the previous index, into a new index and the changes."""

    def __init__(self, snap: Snapshotter, hints: DigestHints | None, watcher: DirectoryWatcher | None,
                 *, incremental: bool) -> None:
        self._root = os.fspath(snap.root)
        self._skip = snap._skip
        self._digest_file = snap._digest_file
        self._full = snap.mode == "full"
        self._ranges = _COMPARED[snap.mode]
        # What a listing's key covers: all of each row, or the bytes the mode compares and the
        # inode (so that a directory reused by its key is the same directory, see run()).
        self._compared = None if self._full else [
            o for a, b in (*self._ranges, (_INO.start, _INO.stop), (_DEV.start, _DEV.stop))
            for o in range(a, b)]
        self._old = snap.index._dirs
        self._hints = hints
        self._watcher = watcher
        self._incremental = incremental
        self._codec = snap.index.codec
        self._dirs: dict[str, bytes] = {}
        self._count = 0
        # None: no previous index, so everything is new and reported as AllPaths of the result
        self._changed: list[str] | None = [] if self._old else None
        self._deleted: list[str] = []
        self._new_hardlink = False
        self.listed = 0

    def run(self) -> tuple[SnapshotIndex, Changes] | None:
        """The new index and the changes; None when an incremental pass met a new hardlink, whose
        other names may be in directories it did not list (a full pass must follow)."""
        old = self._old
        dirs = self._dirs
        watcher = self._watcher
        clean = watcher.clean if self._incremental and watcher is not None else None
        children = _children(old) if clean is not None else {}
        stack: list[tuple[str, bool]] = [("", True)]  # (prefix, same directory as the old index's)
        while stack:
            prefix, same = stack.pop()
            previous = old.get(prefix)
            if (clean is not None and same and previous is not None and clean(prefix)
                    and not packed_has_hardlinks(previous)):
                dirs[prefix] = previous
                self._count += packed_count(previous)
                stack.extend((child, True) for child in children.get(prefix, ()))
                continue
            self.listed += 1
            path = self._root + "/" + prefix[:-1] if prefix else self._root
            opened = None if watcher is None else _arm(watcher, prefix)
            read = read_directory(path, self._skip.get(prefix, frozenset()), opened) or _EMPTY
            rows = b"".join(starmap(_pack, map(STAT_FIELDS, read.stats)))
            key = listing_key(read.names, rows, self._compared)
            if previous is not None and previous[:KEY_SIZE] == key:
                dirs[prefix] = previous  # nothing the mode compares moved: not one entry to look at
                self._count += packed_count(previous)
                stack.extend((prefix + name + "/", True) for name in read.subdirs)
                continue
            packed, same_inode, dropped = self._compare(prefix, read, rows, previous)
            dirs[prefix] = packed
            self._count += len(read.names) - len(dropped)
            stack.extend((prefix + name + "/", name in same_inode)
                         for name in read.subdirs if name not in dropped)
        if self._incremental and self._new_hardlink:
            return None
        index = SnapshotIndex._adopt(dirs, self._count, self._codec)
        if self._changed is None:
            return index, Changes(changed=AllPaths(index), deleted=[])
        self._changed.sort()
        self._deleted.sort()
        return index, Changes(changed=self._changed, deleted=self._deleted)

    def _compare(self, prefix: str, read: DirectoryRead, rows: bytes, previous: bytes | None
                 ) -> tuple[bytes, set[str], set[str]]:
        """Entry by entry against the directory's previous listing: its new packed listing, the
        names still naming the same inode, and the names that vanished while being read."""
        full = self._full
        ranges = self._ranges
        old = self._codec.unpack(previous) if previous is not None else None
        positions = old.positions() if old is not None else {}
        hints = directory_hints(self._hints, prefix) if full else None
        changed = self._changed
        base = self._root + "/" + prefix
        names: list[str] = []
        kept_rows: list[bytes] = []
        digests: list[bytes | None] = []
        extras: dict[int, Extra] = {}
        same_inode: set[str] = set()
        dropped: set[str] = set()
        for i, (name, st) in enumerate(zip(read.names, read.stats)):
            row = rows[i * STAT_SIZE:(i + 1) * STAT_SIZE]
            j = positions.pop(name, None)
            if j is not None:
                assert old is not None
                old_row = old.row(j)
                moved = old_row[_INO] != row[_INO] or old_row[_DEV] != row[_DEV]
                if not moved:
                    same_inode.add(name)
                if old_row == row if full else all(old_row[a:b] == row[a:b] for a, b in ranges):
                    # Nothing a layer records moved (full), or nothing the mode looks at: the
                    # previous facts stay (redo and time: with the inode now there, if another).
                    if j in old.extras:
                        extras[len(names)] = old.extras[j]
                    names.append(name)
                    kept_rows.append(row if moved else old_row)
                    digests.append(old.digests[j])
                    continue
            try:
                if full:
                    digest, extra = self._read_state(base + name, st, row, hints)
                else:
                    digest, extra = None, _link_only(base + name, st)
            except (FileNotFoundError, NotADirectoryError):
                dropped.add(name)  # vanished since it was listed: it is simply not there
                if j is not None:
                    self._deleted.append(prefix + name)
                continue
            if extra is not None:
                extras[len(names)] = extra
            names.append(name)
            kept_rows.append(row)
            digests.append(digest)
            if st.st_nlink > 1 and stat.S_ISREG(st.st_mode) and name not in same_inode:
                self._new_hardlink = True
            if changed is not None and (
                    old is None or j is None or not full
                    or not old.state(j).same_layer_content(entry_state(row, digest, extra))):
                changed.append(prefix + name)
        self._deleted.extend(prefix + name for name in positions)
        joined = b"".join(kept_rows)
        key = listing_key(names, joined, self._compared)
        return self._codec.pack(key, names, joined, digests, extras), same_inode, dropped

    def _read_state(self, path: str, st: os.stat_result, row: bytes, hints: dict[int, Hint] | None
                    ) -> tuple[bytes | None, Extra | None]:
        mode = st.st_mode
        digest = linkname = None
        if stat.S_ISREG(mode):
            hint = hints.get(st.st_ino) if hints else None
            if hint is not None and hint.check == stat_check(row):
                if hint.no_xattrs:
                    return hint.digest, None
                digest = hint.digest
            else:
                digest = self._digest_file(path)
        elif stat.S_ISLNK(mode):
            linkname = os.readlink(path)
        xattrs = read_xattrs(path)
        return digest, ((linkname, xattrs) if linkname is not None or xattrs != () else None)


def _arm(watcher: DirectoryWatcher, prefix: str) -> Callable[[int], None]:
    return lambda fd: watcher.watch(fd, prefix)


def _children(dirs: dict[str, bytes]) -> dict[str, list[str]]:
    """Directory prefix -> the prefixes of its subdirectories, from the keys of an index."""
    children: dict[str, list[str]] = {}
    for prefix in dirs:
        if prefix:
            cut = prefix.rfind("/", 0, len(prefix) - 1)
            children.setdefault(prefix[:cut + 1], []).append(prefix)
    return children


def _link_only(path: str, st: os.stat_result) -> Extra | None:
    """redo and time modes read no content and no xattrs; a symlink's target is still kept."""
    return (os.readlink(path), ()) if stat.S_ISLNK(st.st_mode) else None
