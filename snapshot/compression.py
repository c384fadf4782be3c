"""Layer compression as small strategies (one class per format), and sniffing for reading."""

from __future__ import annotations

import gzip
import io
import zlib
from typing import BinaryIO, Protocol

from .errors import LayerFormatError

__all__ = [
    "Compressor",
    "GzipCompressor",
    "NoCompressor",
    "make_compressor",
    "open_layer_stream",
]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


class Compressor(Protocol):
    """Turns tar bytes into layer blob bytes, incrementally."""

    name: str
    identity: bool  # True when the blob is the tar itself (digest == diff id)

    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class GzipCompressor:
    """zlib in gzip framing; zlib writes mtime 0 and no file name, so output is deterministic."""

    name = "gzip"
    identity = False

    def __init__(self, level: int = 6) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush()


class NoCompressor:
    name = "none"
    identity = True

    def __init__(self, level: int = 0) -> None:
        del level

    def compress(self, data: bytes) -> bytes:
        return data

    def flush(self) -> bytes:
        return b""


_COMPRESSORS: dict[str, type[GzipCompressor] | type[NoCompressor]] = {
    "gzip": GzipCompressor,
    "none": NoCompressor,
}


def make_compressor(name: str, level: int = 6) -> Compressor:
    try:
        cls = _COMPRESSORS[name]
    except KeyError:
        raise ValueError(
            f"unsupported layer compression {name!r}; use one of {sorted(_COMPRESSORS)}"
        ) from None
    return cls(level)


class _Prefixed(io.RawIOBase):
    """A read stream with some already-consumed bytes put back in front."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(b), len(self._head))
            b[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(b))
        n = len(data)
        b[:n] = data
        return n


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def open_layer_stream(compressed: BinaryIO) -> BinaryIO:
    """Return a streaming reader of the tar inside ``compressed`` (gzip or plain), read lazily."""
    head = _read_exactly(compressed, 4)
    raw = io.BufferedReader(_Prefixed(head, compressed), buffer_size=1 << 20)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head == ZSTD_MAGIC:
        raise LayerFormatError("zstd-compressed layers are not supported yet")
    return raw  # type: ignore[return-value]
