"""A small, strict, streaming reader of layer tars (ustar, GNU and PAX), for extraction.

``tarfile`` spends most of its time on a layer of many small files copying its stream buffer and
building ``TarInfo`` objects with fields we never use. This reader reads the stream in large
chunks, slices headers and bodies out of an immutable buffer (bodies as memoryviews, no copy) and
parses only what extraction needs. Unlike ``tarfile`` it refuses a corrupt header anywhere (not
only the first) and a stream that ends inside a header or body; like Go's ``archive/tar`` it
accepts a stream that ends on a header boundary without the two zero blocks.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import BinaryIO

from .errors import LayerFormatError, quoted

__all__ = ["TarEntry", "TarReader"]

log = logging.getLogger(__name__)

BLOCK = 512
CHUNK = 1 << 20
# Go's archive/tar refuses PAX and GNU long-name headers larger than this (maxSpecialFileSize):
# no name or xattr needs more, and a hostile layer must not make us buffer gigabytes.
MAX_SPECIAL_FILE_SIZE = 1 << 20

REGULAR_TYPES = frozenset(b"0\x007")
HARDLINK, SYMLINK, CHAR, BLOCKDEV, DIRECTORY, FIFO = b"123456"
# Entries with no body whatever their size field says (as tarfile and Go's archive/tar read them).
_HEADER_ONLY = frozenset(b"123456")
_PAX_ENTRY, _PAX_GLOBAL, _GNU_LONGNAME, _GNU_LONGLINK, _GNU_SPARSE = b"xgLKS"
_SOLARIS_PAX = ord("X")
_XATTR_PREFIX = "SCHILY.xattr."
_HIGH_BYTES = bytes(range(128))  # deleted by translate(): what is left are the bytes >= 128
_ZERO_BLOCK = bytes(BLOCK)
_USTAR = b"ustar\x00"


@dataclass(slots=True, eq=False)
class TarEntry:
    """One archive member as extraction sees it. ``type`` is the type flag as an int (``ord``)."""

    name: str
    type: int
    mode: int
    uid: int
    gid: int
    size: int
    mtime_ns: int
    linkname: str
    devmajor: int = 0
    devminor: int = 0
    xattrs: dict[str, bytes] = field(default_factory=dict)

    def isreg(self) -> bool:
        return self.type in REGULAR_TYPES

    def isdir(self) -> bool:
        return self.type == DIRECTORY

    def islnk(self) -> bool:
        return self.type == HARDLINK

    def issym(self) -> bool:
        return self.type == SYMLINK

    def ischr(self) -> bool:
        return self.type == CHAR

    def isblk(self) -> bool:
        return self.type == BLOCKDEV

    def isfifo(self) -> bool:
        return self.type == FIFO


class TarReader:
    """Iterate the entries of a tar read from ``stream``; ``body()`` streams the current one's.

    A body not read (or not read to its end) is skipped when the next entry is asked for. Only
    regular files, hardlinks, symlinks, devices, directories and fifos are yielded; other types
    are skipped with a debug log. Names are UTF-8, undecodable bytes kept by surrogateescape.
    Any malformation raises ``LayerFormatError``.
    """

    def __init__(self, stream: BinaryIO, *, chunk_size: int = CHUNK) -> None:
        self._stream = stream
        self._chunk_size = chunk_size
        self._buf = b""
        self._view = memoryview(self._buf)
        self._pos = 0
        self._offset = 0  # of self._buf[0] in the archive, for messages
        self._eof = False
        self._body_left = 0  # bytes of the current body not yet handed out
        self._padding = 0  # then this many bytes of padding to the next block
        self._globals: dict[str, bytes] = {}

    # --- buffer ---------------------------------------------------------------------------

    def _fill(self, need: int) -> bool:
        """Make ``need`` bytes available at ``_pos``; False if the stream ends before."""
        have = len(self._buf) - self._pos
        if have >= need:
            return True
        parts = [self._buf[self._pos:]] if have else []
        self._offset += self._pos
        while have < need and not self._eof:
            data = self._stream.read(max(self._chunk_size, need - have))
            if not data:
                self._eof = True
                break
            parts.append(data)
            have += len(data)
        self._view.release()
        self._buf = parts[0] if len(parts) == 1 else b"".join(parts)
        self._view = memoryview(self._buf)
        self._pos = 0
        return have >= need

    def _take(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            raise LayerFormatError(f"layer archive ends inside {what} (offset {self._where()})")
        start = self._pos
        self._pos = start + n
        return self._buf[start:start + n]

    def _skip(self, n: int, what: str) -> None:
        while n:
            have = len(self._buf) - self._pos
            if not have and not self._fill(1):
                raise LayerFormatError(f"layer archive ends inside {what} (offset {self._where()})")
            step = min(n, len(self._buf) - self._pos)
            self._pos += step
            n -= step

    def _where(self) -> int:
        return self._offset + self._pos

    # --- entries --------------------------------------------------------------------------

    def __iter__(self) -> Iterator[TarEntry]:
        while True:
            self._finish_body()
            found = self._next_header()
            if found is None:
                return
            entry = self._entry(*found)
            if entry is not None:
                yield entry

    def body(self) -> Iterator[memoryview]:
        """The rest of the current entry's body, as views valid until the next one is asked for."""
        while self._body_left:
            have = len(self._buf) - self._pos
            if not have:
                if not self._fill(1):
                    raise LayerFormatError(
                        f"layer archive ends inside a file body (offset {self._where()})")
                have = len(self._buf) - self._pos
            n = min(have, self._body_left)
            start = self._pos
            self._pos = start + n
            self._body_left -= n
            yield self._view[start:start + n]

    def _finish_body(self) -> None:
        if self._body_left:
            self._skip(self._body_left, "a file body")
            self._body_left = 0
        if self._padding:
            self._skip(self._padding, "block padding")
            self._padding = 0

    def _next_header(self) -> tuple[bytes, int, int, int, dict[str, bytes] | None,
                                    bytes | None, bytes | None, int] | None:
        """The next entry's own header with the extended headers before it, None at the end."""
        pax: dict[str, bytes] | None = None
        long_name: bytes | None = None
        long_link: bytes | None = None
        while True:
            if not self._fill(BLOCK):
                if len(self._buf) == self._pos:
                    return None  # ended on a block boundary without zero blocks: Go accepts it
                raise LayerFormatError(f"layer archive ends inside a header (offset {self._where()})")
            at = self._where()
            header = self._take(BLOCK, "a header")
            if header == _ZERO_BLOCK:
                return None  # the end-of-archive marker; what follows it is not read
            _check_sum(header, at)
            kind = header[156]
            size = _number(header[124:136], "size", at)
            if size < 0:
                raise LayerFormatError(f"corrupt layer archive: negative size at offset {at}")
            padding = -size % BLOCK
            if kind in (_PAX_ENTRY, _PAX_GLOBAL, _SOLARIS_PAX, _GNU_LONGNAME, _GNU_LONGLINK):
                if size > MAX_SPECIAL_FILE_SIZE:
                    raise LayerFormatError(
                        f"corrupt layer archive: an extended header of {size} bytes at offset {at} "
                        f"(at most {MAX_SPECIAL_FILE_SIZE} are allowed)")
                data = self._take(size, "an extended header")
                self._skip(padding, "block padding")
                if kind == _GNU_LONGNAME:
                    long_name = data.split(b"\0", 1)[0]
                elif kind == _GNU_LONGLINK:
                    long_link = data.split(b"\0", 1)[0]
                elif kind == _PAX_GLOBAL:
                    _parse_pax(data, self._globals, at)
                else:
                    pax = {} if pax is None else pax
                    _parse_pax(data, pax, at)
                continue
            return header, kind, size, padding, pax, long_name, long_link, at

    def _entry(self, header: bytes, kind: int, size: int, padding: int,
               pax: dict[str, bytes] | None, long_name: bytes | None, long_link: bytes | None,
               at: int) -> TarEntry | None:
        """The entry, or None when it is of a kind extraction skips (its body is then skipped)."""
        if self._globals:
            pax = {**self._globals, **(pax or {})}
        if long_name is None:
            long_name = header[:100].split(b"\0", 1)[0]
            if header[257:263] == _USTAR:  # POSIX ustar: a prefix may carry the leading part
                prefix = header[345:476 if header[508:512] == b"tar\0" else 500].split(b"\0", 1)[0]
                if prefix:
                    long_name = prefix + b"/" + long_name
        mode = _number(header[100:108], "mode", at)
        uid = _number(header[108:116], "uid", at)
        gid = _number(header[116:124], "gid", at)
        mtime_ns = _number(header[136:148], "mtime", at) * 1_000_000_000
        xattrs: dict[str, bytes] | None = None
        if pax:
            long_name = pax.get("path", long_name)
            long_link = pax.get("linkpath", long_link)
            if "size" in pax:
                size = _pax_int(pax, "size", at)
                padding = -size % BLOCK
            if "uid" in pax:
                uid = _pax_int(pax, "uid", at)
            if "gid" in pax:
                gid = _pax_int(pax, "gid", at)
            if "mtime" in pax:
                mtime_ns = _pax_time_ns(pax["mtime"], at)
            for key, value in pax.items():
                if key.startswith(_XATTR_PREFIX):
                    xattrs = {} if xattrs is None else xattrs
                    xattrs[key[len(_XATTR_PREFIX):]] = value
        name = _decode_name(long_name, "entry name", at)
        if kind == 0 and name.endswith("/"):
            kind = DIRECTORY  # an old-style directory, as tarfile reads it
        if kind in _HEADER_ONLY:
            size = padding = 0
        self._body_left = size
        self._padding = padding
        if kind not in REGULAR_TYPES and kind not in _HEADER_ONLY:
            log.debug("layer entry %s of type %r skipped", quoted(name), chr(kind))
            if kind == _GNU_SPARSE and header[482]:
                self._skip_sparse_extensions()
            return None
        if pax and kind in REGULAR_TYPES and any(k.startswith("GNU.sparse.") for k in pax):
            log.debug("layer entry %s is a PAX sparse file: skipped", quoted(name))
            return None
        if long_link is None:
            long_link = header[157:257].split(b"\0", 1)[0]
        linkname = _decode_name(long_link, f"link target of {quoted(name)}", at)
        devmajor = devminor = 0
        if kind == CHAR or kind == BLOCKDEV:
            devmajor = _number(header[329:337], "devmajor", at)
            devminor = _number(header[337:345], "devminor", at)
        return TarEntry(name, kind, mode, uid, gid, size, mtime_ns, linkname, devmajor,
                        devminor, xattrs or {})

    def _skip_sparse_extensions(self) -> None:
        while True:
            block = self._take(BLOCK, "a sparse header")
            if not block[504]:
                return


def _decode_name(raw: bytes, what: str, at: int) -> str:
    """A name as UTF-8 (undecodable bytes kept by surrogateescape); a NUL byte, which only a PAX
    record can carry and no file system name can hold, is a corrupt archive."""
    name = raw.decode("utf-8", "surrogateescape")
    if "\0" in name:
        raise LayerFormatError(f"corrupt layer archive: {what} {quoted(name)} holds a NUL byte "
                               f"(offset {at})")
    return name


def _check_sum(header: bytes, at: int) -> None:
    stored = header[148:156].split(b"\0", 1)[0].strip()
    total = sum(header) - sum(header[148:156]) + 8 * 32  # the field itself counts as spaces
    try:
        expected = int(stored, 8)
    except ValueError:
        expected = -1
    if expected == total:
        return
    # Some old writers summed signed chars.
    if expected == total - 256 * len((header[:148] + header[156:]).translate(None, _HIGH_BYTES)):
        return
    raise LayerFormatError(
        f"corrupt layer archive: bad header checksum at offset {at} "
        "(not a tar archive, or damaged)")


def _number(raw: bytes, what: str, at: int) -> int:
    if raw[-1] == 0:  # the usual NUL-terminated octal: parsed without splitting it out
        try:
            return int(raw[:-1], 8)
        except ValueError:
            pass
    first = raw[0]
    if first == 0o200 or first == 0o377:  # GNU base-256, two's complement
        n = int.from_bytes(raw[1:], "big")
        return n - 256 ** (len(raw) - 1) if first == 0o377 else n
    digits = raw.split(b"\0", 1)[0].strip()
    if not digits:
        return 0
    try:
        return int(digits, 8)
    except ValueError:
        raise LayerFormatError(
            f"corrupt layer archive: bad {what} field {quoted(bytes(raw))} at offset {at}") from None


def _parse_pax(data: bytes, into: dict[str, bytes], at: int) -> None:
    """Records are ``"<length> <key>=<value>\\n"``; an empty value removes the key."""
    pos = 0
    end = len(data)
    while pos < end:
        if data[pos] == 0:
            break  # NUL padding some writers leave
        space = data.find(b" ", pos)
        try:
            length = int(data[pos:space])
        except ValueError:
            length = 0
        stop = pos + length
        equals = data.find(b"=", space, stop)
        if space == -1 or length <= 0 or stop > end or equals == -1 or data[stop - 1] != 0x0A:
            raise LayerFormatError(f"corrupt layer archive: bad PAX record at offset {at}")
        key = data[space + 1:equals].decode("utf-8", "surrogateescape")
        value = data[equals + 1:stop - 1]
        if value:
            into[key] = value
        else:
            into.pop(key, None)
        pos = stop


def _pax_int(pax: dict[str, bytes], key: str, at: int) -> int:
    try:
        return int(pax[key])
    except ValueError:
        raise LayerFormatError(
            f"corrupt layer archive: bad PAX {quoted(key)} {quoted(pax[key])} at offset {at}") from None


def _pax_time_ns(value: bytes, at: int) -> int:
    try:
        return int(Decimal(value.decode("ascii")) * 1_000_000_000)
    except (InvalidOperation, UnicodeDecodeError, ValueError, OverflowError):
        raise LayerFormatError(
            f"corrupt layer archive: bad PAX mtime {quoted(value)} at offset {at}") from None
