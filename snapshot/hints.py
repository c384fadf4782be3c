"""Content digests the extractor already knows, handed to the first snapshot after extraction so
that it need not read a million files back.

Kept packed, one table per directory, rather than as an object per file: a base image of
1,000,000 files costs 33 MB of hints instead of about 200 MB, and the snapshot frees each table
as soon as it has listed that directory.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass

import xxhash

__all__ = ["DigestHints", "Hint", "directory_hints", "record_hint", "stat_check"]

# Directory prefix as the snapshot names it ("" for the root, "etc/" for /etc) -> one 33-byte
# record per regular file written there: st_ino, a check of the file's packed stat facts as they
# were once written (see ``stat_check``), the xxh3_128 of its content, and 1 if it then had no
# xattrs (read through its fd, cheaper than the snapshot's lookup by path), else 0. Filled by
# extract_layer; Snapshotter.take(hints=...) consumes what it uses. A plain dict, so a caller can
# make one with {}.
DigestHints = dict[str, bytearray]

_RECORD = struct.Struct("<Q8s16s?")
_pack_record = _RECORD.pack


@dataclass(frozen=True, slots=True)
class Hint:
    check: bytes  # stat_check of the facts the digest goes with
    digest: bytes
    no_xattrs: bool  # it had none then (setting one moves ctime, so the check covers it)


def stat_check(packed_stat: bytes) -> bytes:
    """8 bytes that change whenever any stat fact in ``packed_stat`` does (xxh3_64): a hint is
    used only while the file's facts, ctime included, are exactly those it was recorded with."""
    return xxhash.xxh3_64_digest(packed_stat)


def record_hint(hints: DigestHints, prefix: str, st: os.stat_result, packed_stat: bytes,
                digest: bytes, *, no_xattrs: bool = False) -> None:
    """Remember ``digest`` for the file of ``st`` (its facts packed as ``packed_stat``), written
    into the directory ``prefix``. A later record for the same inode wins."""
    table = hints.get(prefix)
    if table is None:
        table = hints[prefix] = bytearray()
    table += _pack_record(st.st_ino, stat_check(packed_stat), digest, no_xattrs)


def directory_hints(hints: DigestHints | None, prefix: str) -> dict[int, Hint] | None:
    """The hints of one directory by st_ino, taken out of ``hints``."""
    table = hints.pop(prefix, None) if hints else None
    if not table:
        return None
    return {ino: Hint(check, digest, no_xattrs) for ino, check, digest, no_xattrs in _RECORD.iter_unpack(table)}
