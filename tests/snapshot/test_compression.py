"""Layer compression: parallel gzip is one valid gzip member every reader accepts, zstd round-trips,
levels are checked, and the read-ahead thread hands over data and errors faithfully."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import zlib
from pathlib import Path

import pytest
import zstandard

from snapshot import ParallelGzipCompressor, ZstdCompressor, make_compressor, open_layer_stream
from snapshot.compression import ReadAhead
from snapshot.errors import LayerFormatError


def _payload() -> bytes:
    random = os.urandom(700_000)
    return (random + bytes(900_000) + b"layer " * 50_000) * 3 + b"end"


def _compress(compressor, data: bytes, piece: int = 100_003) -> bytes:  # type: ignore[no-untyped-def]
    out = [compressor.compress(data[i:i + piece]) for i in range(0, len(data), piece)]
    return b"".join(out) + compressor.flush()


@pytest.mark.parametrize("block_size", [1 << 20, 65_536, 4_097])
def test_parallel_gzip_is_a_single_valid_member(tmp_path: Path, block_size: int) -> None:
    data = _payload()
    blob = _compress(ParallelGzipCompressor(6, workers=3, block_size=block_size), data)
    assert gzip.decompress(blob) == data
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)  # exactly one member, nothing after it
    assert d.decompress(blob) == data and d.eof and d.unused_data == b""
    path = tmp_path / "layer.gz"
    path.write_bytes(blob)
    subprocess.run(["gzip", "-t", str(path)], check=True)
    assert subprocess.run(["gzip", "-dc", str(path)], check=True, capture_output=True).stdout == data
    # The previous block's tail is the next one's dictionary: about as small as one zlib stream.
    assert len(blob) < len(zlib.compress(data, 6)) * 1.02 + 64


def test_parallel_gzip_output_does_not_depend_on_threads_or_write_sizes() -> None:
    data = _payload()
    one = _compress(ParallelGzipCompressor(6, workers=1), data, piece=7_919)
    many = _compress(ParallelGzipCompressor(6, workers=4), data, piece=1 << 20)
    assert one == many


@pytest.mark.parametrize("data", [b"", b"x", bytes(1 << 20), bytes((1 << 20) + 1)])
def test_parallel_gzip_edges(data: bytes) -> None:
    assert gzip.decompress(_compress(ParallelGzipCompressor(block_size=1 << 20), data)) == data


def test_zstd_round_trips_through_the_layer_reader() -> None:
    data = _payload()
    blob = _compress(ZstdCompressor(3), data)
    assert blob.startswith(b"\x28\xb5\x2f\xfd")
    assert zstandard.ZstdDecompressor().decompressobj().decompress(blob) == data
    assert open_layer_stream(io.BytesIO(blob)).read() == data


def test_truncated_zstd_is_a_format_error() -> None:
    blob = _compress(ZstdCompressor(3), _payload())
    with pytest.raises(LayerFormatError, match="zstd"):
        open_layer_stream(io.BytesIO(blob[: len(blob) // 2])).read()


def test_levels_are_checked() -> None:
    assert make_compressor("gzip", None).name == "gzip"
    assert make_compressor("zstd", 19).name == "zstd"
    with pytest.raises(ValueError, match="out of range for gzip"):
        make_compressor("gzip", 12)
    with pytest.raises(ValueError, match="unsupported layer compression"):
        make_compressor("lz4")


def test_read_ahead_hands_over_bytes_in_order() -> None:
    data = _payload()
    with ReadAhead(io.BytesIO(data), chunk_size=10_007, depth=2) as reader:
        got = b"".join(iter(lambda: reader.read(65_536), b""))
    assert got == data


class _Failing(io.RawIOBase):
    def __init__(self) -> None:
        self.sent = False

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        if self.sent:
            raise LayerFormatError("digest mismatch")
        self.sent = True
        b[:4] = b"abcd"
        return 4


def test_read_ahead_raises_the_reader_threads_error() -> None:
    with ReadAhead(_Failing()) as reader:  # type: ignore[arg-type]
        assert reader.read(4) == b"abcd"
        with pytest.raises(LayerFormatError, match="digest mismatch"):
            reader.read(4)


def test_read_ahead_closes_early_without_hanging() -> None:
    reader = ReadAhead(io.BytesIO(bytes(50 << 20)), chunk_size=1 << 16, depth=2)
    assert len(reader.read(10)) == 10
    reader.close()
    assert reader.closed
