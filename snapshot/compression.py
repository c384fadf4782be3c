"""Layer compression as small strategies (one class per format), and sniffing for reading.

gzip is compressed pigz-style in parallel: the tar is cut into blocks, each deflated on its own in
a thread (zlib releases the GIL while it deflates) with the previous block's last 32 KiB as its
dictionary, and the raw deflate blocks are joined into ONE gzip member: every block but the last
ends on a byte boundary (a sync flush) and is not marked final, so the concatenation is the
ordinary deflate stream every gzip reader expects. The CRC-32 and size of the whole tar go in the
trailer. zstd uses libzstd's own worker threads (python-zstandard).
"""

from __future__ import annotations

import gzip
import io
import os
import queue
import struct
import threading
import types
import zlib
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import BinaryIO, Protocol

from .errors import LayerFormatError

__all__ = [
    "COMPRESSIONS",
    "Compressor",
    "GzipCompressor",
    "NoCompressor",
    "ParallelGzipCompressor",
    "ZstdCompressor",
    "block_codec",
    "make_compressor",
    "open_layer_stream",
]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# Header of a gzip member with no name, no mtime (0, so output is reproducible), OS "unix".
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"
DEFLATE_WINDOW = 32 * 1024


class Compressor(Protocol):
    """Turns tar bytes into layer blob bytes, incrementally."""

    name: str
    identity: bool  # True when the blob is the tar itself (digest == diff id)

    def compress(self, data: bytes) -> bytes: ...

    def flush(self) -> bytes: ...


class GzipCompressor:
    """zlib in gzip framing on the calling thread; zlib writes mtime 0 and no file name, so
    output is deterministic."""

    name = "gzip"
    identity = False

    def __init__(self, level: int = 6) -> None:
        self._z = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)

    def compress(self, data: bytes) -> bytes:
        return self._z.compress(data)

    def flush(self) -> bytes:
        return self._z.flush()


def _deflate_block(block: bytes, zdict: bytes, level: int, last: bool) -> bytes:
    z = (zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, zdict=zdict) if zdict
         else zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS))
    return z.compress(block) + z.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)


class ParallelGzipCompressor:
    """gzip deflated in independent blocks on ``workers`` threads (see the module docstring).

    At most ``2 * workers`` blocks are in flight, so memory stays a few MiB whatever the layer
    size. A layer smaller than one block is deflated on the calling thread and no thread starts.
    The output depends only on the input, the level and the block size, never on timing.
    """

    name = "gzip"
    identity = False

    def __init__(self, level: int = 6, *, workers: int | None = None, block_size: int = 1 << 20) -> None:
        self._level = level
        self._workers = workers or os.cpu_count() or 1
        self._block_size = block_size
        self._pending: deque[Future[bytes]] = deque()
        self._pool: ThreadPoolExecutor | None = None
        self._buffer = bytearray()
        self._zdict = b""
        self._crc = 0
        self._size = 0
        self._started = False

    def compress(self, data: bytes) -> bytes:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._buffer += data
        out: list[bytes] = []
        if not self._started:
            self._started = True
            out.append(GZIP_HEADER)
        size = self._block_size
        while len(self._buffer) >= size + 1:  # keep >= 1 byte back: the last block is special
            block = bytes(self._buffer[:size])
            del self._buffer[:size]
            self._submit(block)
            if len(self._pending) >= 2 * self._workers:
                out.append(self._pending.popleft().result())
        while self._pending and self._pending[0].done():
            out.append(self._pending.popleft().result())
        return b"".join(out)

    def _submit(self, block: bytes) -> None:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._workers, thread_name_prefix="gzip")
        self._pending.append(self._pool.submit(_deflate_block, block, self._zdict, self._level, False))
        self._zdict = block[-DEFLATE_WINDOW:]

    def flush(self) -> bytes:
        out = [] if self._started else [GZIP_HEADER]
        try:
            out.extend(f.result() for f in self._pending)
        finally:
            self._pending.clear()
            if self._pool is not None:
                self._pool.shutdown(wait=True, cancel_futures=True)
                self._pool = None
        out.append(_deflate_block(bytes(self._buffer), self._zdict, self._level, True))
        out.append(struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF))
        self._buffer = bytearray()
        return b"".join(out)


class ZstdCompressor:
    """zstd frames from libzstd, on its own worker threads when there is more than one core."""

    name = "zstd"
    identity = False

    def __init__(self, level: int = 3) -> None:
        import zstandard  # here, not at the top: most builds never need it

        threads = os.cpu_count() or 1
        self._z = zstandard.ZstdCompressor(level=level, threads=threads if threads > 1 else 0,
                                           write_content_size=False).compressobj()

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


_COMPRESSORS: dict[str, type[ParallelGzipCompressor] | type[ZstdCompressor] | type[NoCompressor]] = {
    "gzip": ParallelGzipCompressor,
    "zstd": ZstdCompressor,
    "none": NoCompressor,
}
COMPRESSIONS = tuple(_COMPRESSORS)
# Each format's own default: gzip -6 as gzip(1) and kaniko, zstd -3 as zstd(1).
DEFAULT_LEVELS = {"gzip": 6, "zstd": 3, "none": 0}
LEVEL_RANGES = {"gzip": range(0, 10), "zstd": range(-7, 23), "none": range(0, 1)}


def block_codec(level: int = 1) -> tuple[Callable[[bytes], bytes], Callable[[memoryview], bytes]]:
    """One-shot zstd compress and decompress of small blocks (the snapshot index's listings),
    each with one context reused across calls."""
    import zstandard  # here, not at the top: the executor starts without it

    return (zstandard.ZstdCompressor(level=level, write_checksum=False, write_content_size=True).compress,
            zstandard.ZstdDecompressor().decompress)


def make_compressor(name: str, level: int | None = None) -> Compressor:
    try:
        cls = _COMPRESSORS[name]
    except KeyError:
        raise ValueError(
            f"unsupported layer compression {name!r}; use one of {sorted(_COMPRESSORS)}"
        ) from None
    if level is None or level == -1:  # kaniko's -1: the format's default
        level = DEFAULT_LEVELS[name]
    if level not in LEVEL_RANGES[name]:
        valid = LEVEL_RANGES[name]
        raise ValueError(f"compression level {level} is out of range for {name} "
                         f"({valid.start}..{valid.stop - 1})")
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
    """Return a streaming reader of the tar inside ``compressed`` (gzip, zstd or plain), read lazily."""
    head = _read_exactly(compressed, 4)
    raw = io.BufferedReader(_Prefixed(head, compressed), buffer_size=1 << 20)
    if head.startswith(GZIP_MAGIC):
        return gzip.GzipFile(fileobj=raw, mode="rb")  # type: ignore[return-value]
    if head == ZSTD_MAGIC:
        import zstandard

        return io.BufferedReader(_ZstdLayerStream(raw, zstandard), 1 << 20)
    return raw


class _ZstdLayerStream(io.RawIOBase):
    """zstd frames (one or more) decompressed as a stream. python-zstandard's own stream reader
    ends quietly on a truncated frame; this one raises ``LayerFormatError`` instead. Input goes in
    small pieces so that one piece of very compressible data never expands to much memory."""

    INPUT = 1 << 17

    def __init__(self, raw: BinaryIO, zstandard: types.ModuleType) -> None:
        self._raw = raw
        self._zstd = zstandard
        self._d = zstandard.ZstdDecompressor().decompressobj()
        self._in_frame = False
        self._out = memoryview(b"")

    def readable(self) -> bool:
        return True

    def _fill(self) -> bool:
        data = self._raw.read(self.INPUT)
        if not data:
            if self._in_frame:
                raise LayerFormatError("corrupt zstd layer: truncated frame")
            return False
        out = []
        try:
            while data:
                self._in_frame = True
                out.append(self._d.decompress(data))
                data = b""
                if self._d.eof:
                    self._in_frame = False
                    data = self._d.unused_data
                    self._d = self._zstd.ZstdDecompressor().decompressobj()
        except self._zstd.ZstdError as e:
            raise LayerFormatError(f"corrupt zstd layer: {e}") from e
        self._out = memoryview(b"".join(out))
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        while not self._out:
            if not self._fill():
                return 0
        n = min(len(b), len(self._out))
        b[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


class ReadAhead(io.RawIOBase):
    """Reads ``source`` on a thread of its own, up to ``depth`` chunks ahead of the consumer.

    Extraction uses it so that downloading, verifying the digest and decompressing a layer (all of
    which release the GIL) overlap with writing its files. An error in the thread is raised by the
    consumer's next read; closing stops the thread.
    """

    def __init__(self, source: BinaryIO, *, chunk_size: int = 1 << 20, depth: int = 8) -> None:
        self._source = source
        self._chunk_size = chunk_size
        self._queue: queue.Queue[bytes | BaseException] = queue.Queue(depth)
        self._stop = threading.Event()
        self._current = memoryview(b"")
        self._eof = False
        self._thread = threading.Thread(target=self._run, name="read-ahead", daemon=True)
        self._thread.start()

    def _put(self, item: bytes | BaseException) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                data = self._source.read(self._chunk_size)
                if not self._put(data) or not data:
                    return
        except BaseException as e:  # handed to the consumer, raised there
            self._put(e)

    def readable(self) -> bool:
        return True

    def readinto(self, b: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._current:
            if self._eof:
                return 0
            item = self._queue.get()
            if isinstance(item, BaseException):
                self._eof = True
                raise item
            if not item:
                self._eof = True
                return 0
            self._current = memoryview(item)
        n = min(len(b), len(self._current))
        b[:n] = self._current[:n]
        self._current = self._current[n:]
        return n

    def close(self) -> None:
        if not self.closed:
            self._stop.set()
            self._thread.join()
            self._source.close()
            super().close()
