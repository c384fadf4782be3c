"""Content digests: ``sha256_digest`` of bytes, and the one shape of every verified stream (a registry blob, a cached layer in an OCI layout or in a
warmer's tarball): a raw reader that hashes what passes through it and, at its end, checks the
size and the digest. Subclasses say where the bytes come from and what a mismatch is called."""

from __future__ import annotations

import hashlib
import io
from abc import ABC, abstractmethod
from typing import Any

__all__ = ["DigestCheckingReader", "sha256_digest"]


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class DigestCheckingReader(io.RawIOBase, ABC):
    """``readinto`` hashes each chunk; the read that reaches the end (or goes past ``size``)
    raises ``mismatch(why)`` if the bytes are not ``digest``; reads after that find the end."""

    def __init__(self, digest: str, size: int | None, hasher: Any) -> None:
        super().__init__()
        self.digest = digest
        self.size = size
        self.count = 0  # bytes read so far
        self._hash = hasher
        self._verified = False

    @abstractmethod
    def read_some(self, view: memoryview) -> int:
        """Fill the start of ``view`` with the next bytes; 0 at the end."""

    @abstractmethod
    def mismatch(self, why: str) -> Exception:
        """The error for bytes that are not what ``digest`` and ``size`` say."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._verified:
            return 0
        view = memoryview(buffer).cast("B")
        count = self.read_some(view)
        if not count:
            self.verify()
            return 0
        self._hash.update(view[:count])
        self.count += count
        if self.size is not None and self.count > self.size:
            self._fail(f"more than the expected {self.size} bytes")
        return count

    @property
    def verified(self) -> bool:
        return self._verified

    def verify(self) -> None:
        """Check what was read (at the end of the stream); raises on a mismatch."""
        if self._verified:
            return
        self._verified = True
        actual = f"{self._hash.name}:{self._hash.hexdigest()}"
        if self.size is not None and self.count != self.size:
            self._fail(f"{self.count} bytes, expected {self.size} (digest {actual})")
        if actual != self.digest:
            self._fail(f"content hashes to {actual} ({self.count} bytes)")

    def _fail(self, why: str) -> None:
        self._verified = True
        raise self.mismatch(why)
