"""Progress lines for downloads: a handful per transfer, never one per chunk."""

from __future__ import annotations

import logging
from typing import BinaryIO

__all__ = ["ProgressReader"]

MIB = 1 << 20
# With a known size a line every tenth, but never more often than every 8 MiB (a small context
# needs no progress at all); with an unknown size a line every 32 MiB.
MIN_STEP = 8 * MIB
UNKNOWN_SIZE_STEP = 32 * MIB


class ProgressReader:
    """Wraps a read stream and logs how much of ``name`` has been read so far."""

    def __init__(self, stream: BinaryIO, total: int | None, name: str, log: logging.Logger) -> None:
        self._stream = stream
        self._total = total
        self._name = name
        self._log = log
        self._step = max(total // 10, MIN_STEP) if total else UNKNOWN_SIZE_STEP
        self._next = self._step
        self.read_bytes = 0
        log.info("fetching build context %s%s", name, f" ({_size(total)})" if total else "")

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self.read_bytes += len(data)
        if self.read_bytes >= self._next:
            self._next = (self.read_bytes // self._step + 1) * self._step
            if self._total:
                self._log.info("fetching %s: %d%% (%s of %s)", self._name,
                               min(100, self.read_bytes * 100 // self._total),
                               _size(self.read_bytes), _size(self._total))
            else:
                self._log.info("fetching %s: %s", self._name, _size(self.read_bytes))
        return data

    def readable(self) -> bool:
        return True

    def done(self) -> None:
        self._log.info("fetched build context %s (%s)", self._name, _size(self.read_bytes))


def _size(n: int) -> str:
    return f"{n / MIB:.1f} MiB" if n >= MIB else f"{n / 1024:.1f} KiB"
