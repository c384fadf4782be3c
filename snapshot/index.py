"""What a snapshot remembers about each path: stat facts, link target, xattrs, content digest.

Kept per directory, packed and compressed: a root of 1,000,000 files costs about 25 MB rather than
the 200 MB of an object (or even a bytes record and a dict slot) per path, and a snapshot that
finds a directory unchanged shares its packed listing with the previous index instead of copying
it. A listing is unpacked only when something asks about one of its paths.
"""

from __future__ import annotations

import marshal
import os
import stat
import struct
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from operator import attrgetter

import xxhash

from .compression import block_codec

__all__ = ["EntryState", "Extra", "KEY_SIZE", "Listing", "ListingCodec", "SnapshotIndex", "STAT_FIELDS",
           "STAT_RECORD", "STAT_SIZE", "Xattrs", "entry_row", "entry_state", "listing_key",
           "pack_stat", "packed_count", "packed_has_hardlinks"]

Xattrs = tuple[tuple[str, bytes], ...]
Extra = tuple[str | None, Xattrs | None]  # (link target, xattrs) of the few paths with either

# The stat facts of one path packed into 64 bytes: mode, uid, gid, nlink, size, mtime_ns,
# ctime_ns, ino, rdev, dev. "Did stat change" is then one bytes comparison, and a directory's
# facts are one bytes object (a "row" per entry, in listing order).
STAT_RECORD = struct.Struct("<IIIIqqqQQQ")
_pack = STAT_RECORD.pack
_unpack = STAT_RECORD.unpack_from
STAT_SIZE = STAT_RECORD.size
# The same fields of an os.stat_result, in STAT_RECORD order, fetched in C: packing a directory's
# stats is then ``b"".join(starmap(STAT_RECORD.pack, map(STAT_FIELDS, stats)))``, no bytecode per file.
STAT_FIELDS = attrgetter("st_mode", "st_uid", "st_gid", "st_nlink", "st_size", "st_mtime_ns",
                         "st_ctime_ns", "st_ino", "st_rdev", "st_dev")

_S_IFMT = 0o170000
_S_IFREG = 0o100000


def pack_stat(st: os.stat_result) -> bytes:
    return _pack(*STAT_FIELDS(st))


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
        return entry_row(self) == pack_stat(st)

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


def entry_row(state: EntryState) -> bytes:
    """The packed stat facts of ``state``."""
    return _pack(state.mode, state.uid, state.gid, state.nlink, state.size, state.mtime_ns,
                 state.ctime_ns, state.ino, state.rdev, state.dev)


def entry_state(row: bytes | memoryview, digest: bytes | None, extra: Extra | None) -> EntryState:
    mode, uid, gid, nlink, size, mtime_ns, ctime_ns, ino, rdev, dev = _unpack(row)
    linkname, xattrs = extra if extra is not None else (None, ())
    return EntryState(mode=mode, uid=uid, gid=gid, size=size, mtime_ns=mtime_ns, ctime_ns=ctime_ns,
                      ino=ino, nlink=nlink, rdev=rdev, linkname=linkname, digest=digest,
                      xattrs=xattrs, dev=dev)


def listing_key(names: Sequence[str], rows: bytes, compared: Sequence[int] | None = None) -> bytes:
    """16 bytes that change whenever a directory's names (in listing order) or, of their rows,
    the bytes at offsets ``compared`` (all of them when None) do: a snapshot that lists a
    directory and gets the key it stored last time need not look at any entry."""
    h = xxhash.xxh3_128("/".join(names).encode("utf-8", "surrogateescape"))
    if compared is None:
        h.update(rows)
    else:
        for offset in compared:
            h.update(rows[offset::STAT_SIZE])
    return h.digest()


# A packed listing: key (16 bytes), entry count (4), flags (1), then a zstd frame of the marshalled
# (names, rows, digests, extras): rows the entries' packed stat facts back to back, digests one
# bytes or None per entry, extras ((position, link target, xattrs), ...) for the entries with a link
# target or xattrs other than none. marshal (C, no per-object overhead) is fine for bytes that
# never leave the process; a directory of 100 small files packs into about 2.5 KB, 85% of it the
# digests, which do not compress.
_HEADER = struct.Struct("<16sIB")
_HEADER_SIZE = _HEADER.size
KEY_SIZE = 16
_HARDLINKS = 1  # flag: some regular file of the directory has more than one link


@dataclass(frozen=True, slots=True)
class Listing:
    """One directory as the index holds it, unpacked: entry names in listing order and, for each,
    its packed stat facts (``rows[i * STAT_SIZE:(i + 1) * STAT_SIZE]``), digest and extra."""

    names: tuple[str, ...]
    rows: bytes
    digests: tuple[bytes | None, ...]
    extras: dict[int, Extra]

    def row(self, i: int) -> bytes:
        return self.rows[i * STAT_SIZE:(i + 1) * STAT_SIZE]

    def state(self, i: int) -> EntryState:
        return entry_state(self.row(i), self.digests[i], self.extras.get(i))

    def positions(self) -> dict[str, int]:
        return {name: i for i, name in enumerate(self.names)}


class ListingCodec:
    """Packs and unpacks listings (one zstd context each way, reused: made once per index or
    snapshot, not per directory)."""

    __slots__ = ("_compress", "_decompress")

    def __init__(self) -> None:
        self._compress, self._decompress = block_codec(level=1)

    def pack(self, key: bytes, names: Sequence[str], rows: bytes, digests: Sequence[bytes | None],
             extras: Mapping[int, Extra]) -> bytes:
        flags = _HARDLINKS if any(nlink > 1 and mode & _S_IFMT == _S_IFREG
                                  for mode, nlink in _MODE_NLINK.iter_unpack(rows)) else 0
        body = marshal.dumps((tuple(names), rows, tuple(digests),
                              tuple((i, link, xattrs) for i, (link, xattrs) in sorted(extras.items()))))
        return _HEADER.pack(key, len(names), flags) + self._compress(body)

    def unpack(self, packed: bytes) -> Listing:
        names, rows, digests, extras = marshal.loads(self._decompress(memoryview(packed)[_HEADER_SIZE:]))
        return Listing(names=names, rows=rows, digests=digests,
                       extras={i: (link, xattrs) for i, link, xattrs in extras})


_MODE_NLINK = struct.Struct("<I8xI48x")  # a whole row, only mode and nlink read


def packed_count(packed: bytes) -> int:
    return _HEADER.unpack_from(packed)[1]


def packed_has_hardlinks(packed: bytes) -> bool:
    return bool(packed[_HEADER_SIZE - 1] & _HARDLINKS)


class SnapshotIndex(Mapping[str, EntryState]):
    """Root-relative path -> EntryState. Immutable once built: each snapshot makes a new one, so
    an index handed out earlier stays a faithful picture of its moment.

    Stored per directory: ``_dirs`` maps a directory's prefix ("" for the root, "etc/" for
    /etc) to its packed listing (see ``ListingCodec``). ``EntryState`` objects are made on access;
    the last few listings looked into are kept unpacked.
    """

    __slots__ = ("_dirs", "_count", "_codec", "_unpacked")

    _CACHED = 32  # unpacked listings kept: sorted paths visit a directory, its subdirectories, it again

    def __init__(self, entries: Mapping[str, EntryState] | None = None) -> None:
        by_dir: dict[str, dict[str, EntryState]] = {}
        for rel, state in (entries or {}).items():
            cut = rel.rfind("/")
            by_dir.setdefault(rel[:cut + 1], {})[rel[cut + 1:]] = state
        codec = ListingCodec() if by_dir else None
        dirs: dict[str, bytes] = {}
        for prefix, states in by_dir.items():
            assert codec is not None
            names = tuple(states)
            rows = b"".join(entry_row(s) for s in states.values())
            extras = {i: (s.linkname, s.xattrs) for i, s in enumerate(states.values())
                      if s.linkname is not None or s.xattrs != ()}
            dirs[prefix] = codec.pack(listing_key(names, rows), names, rows,
                                      [s.digest for s in states.values()], extras)
        self._adopt_dirs(dirs, sum(len(s) for s in by_dir.values()), codec)

    def _adopt_dirs(self, dirs: dict[str, bytes], count: int, codec: ListingCodec | None) -> None:
        self._dirs = dirs
        self._count = count
        self._codec = codec
        self._unpacked: OrderedDict[str, tuple[Listing, dict[str, int]]] = OrderedDict()

    @classmethod
    def _adopt(cls, dirs: dict[str, bytes], count: int, codec: ListingCodec | None) -> SnapshotIndex:
        """Wrap a freshly built dict of packed listings (the caller gives up ownership)."""
        index = cls.__new__(cls)
        index._adopt_dirs(dirs, count, codec)
        return index

    def packed(self, prefix: str) -> bytes | None:
        """The packed listing of the directory ``prefix`` ("" the root, "etc/"), if walked."""
        return self._dirs.get(prefix)

    def listing(self, prefix: str) -> tuple[Listing, dict[str, int]] | None:
        """The directory ``prefix`` unpacked, with its names' positions."""
        cache = self._unpacked
        found = cache.get(prefix)
        if found is not None:
            cache.move_to_end(prefix)
            return found
        packed = self._dirs.get(prefix)
        if packed is None:
            return None
        listing = self.codec.unpack(packed)
        found = cache[prefix] = (listing, listing.positions())
        if len(cache) > self._CACHED:
            cache.popitem(last=False)
        return found

    def _find(self, rel: str) -> EntryState | None:
        cut = rel.rfind("/")
        found = self.listing(rel[:cut + 1])
        if found is None:
            return None
        listing, positions = found
        i = positions.get(rel[cut + 1:])
        return None if i is None else listing.state(i)

    def __getitem__(self, rel: str) -> EntryState:
        state = self._find(rel)
        if state is None:
            raise KeyError(rel)
        return state

    def __contains__(self, rel: object) -> bool:
        return isinstance(rel, str) and self._find(rel) is not None

    @property
    def codec(self) -> ListingCodec:
        """How this index's listings are packed (made on first use: an empty index, as every
        build starts with, needs none)."""
        if self._codec is None:
            self._codec = ListingCodec()
        return self._codec

    def __iter__(self) -> Iterator[str]:
        unpack = self.codec.unpack
        for prefix, packed in self._dirs.items():
            if packed_count(packed):
                for name in unpack(packed).names:
                    yield prefix + name

    def __len__(self) -> int:
        return self._count

    def get(  # type: ignore[override]
        self, rel: str, default: EntryState | None = None
    ) -> EntryState | None:
        state = self._find(rel)
        return default if state is None else state

    def hardlinked(self) -> Iterator[tuple[str, int, int]]:
        """``(rel, dev, ino)`` of every regular file with more than one link, cheaply: only
        directories flagged as holding one are unpacked."""
        unpack = self.codec.unpack
        for prefix, packed in self._dirs.items():
            if not packed_has_hardlinks(packed):
                continue
            listing = unpack(packed)
            for i, name in enumerate(listing.names):
                mode, _, _, nlink, _, _, _, ino, _, dev = _unpack(listing.rows, i * STAT_SIZE)
                if nlink > 1 and stat.S_ISREG(mode):
                    yield prefix + name, dev, ino

    def __repr__(self) -> str:
        return f"SnapshotIndex({self._count} entries in {len(self._dirs)} directories)"
