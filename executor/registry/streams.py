"""Stream adapters: a digest-verifying blob reader, a re-openable upload body, bounded reads."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from typing import Any, BinaryIO

import requests
import urllib3.exceptions

from executor.image.digest import DigestCheckingReader

from .errors import DigestMismatch, RegistryError, RegistryUnreachable

_CHUNK = 1024 * 1024


def read_bounded(response: requests.Response, limit: int, action: str) -> bytes:
    """The whole (decoded) body of a small document, refusing more than ``limit`` bytes."""
    try:
        data = response.raw.read(limit + 1, decode_content=True)
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise RegistryUnreachable(f"connection lost while reading: {describe_network_error(e)}",
                                  action=action, url=response.url) from e
    if len(data) > limit:
        raise RegistryError(f"response larger than {limit} bytes", action=action,
                            url=response.url)
    return data


_DIGEST_ALGORITHMS = frozenset({"sha256", "sha384", "sha512"})


def _hasher(digest: str, action: str) -> Any:
    algorithm, _, _ = digest.partition(":")
    if algorithm not in _DIGEST_ALGORITHMS:
        raise RegistryError(f"unsupported digest algorithm in {digest!r}", action=action)
    return hashlib.new(algorithm)


def digest_of(data: bytes, algorithm: str, action: str) -> str:
    """``algorithm:hex`` of ``data`` (sha256, sha384 or sha512)."""
    hasher = _hasher(f"{algorithm}:", action)
    hasher.update(data)
    return f"{algorithm}:{hasher.hexdigest()}"


def skip_to(response: requests.Response, offset: int, action: str) -> None:
    """Read and drop the first ``offset`` bytes of a body (a server that ignored Range)."""
    left = offset
    try:
        while left > 0:
            data = response.raw.read(min(left, _CHUNK), decode_content=True)
            if not data:
                raise RegistryUnreachable(f"body ended before byte {offset}", action=action,
                                          url=response.url)
            left -= len(data)
    except (urllib3.exceptions.HTTPError, OSError) as e:
        raise RegistryUnreachable(f"connection lost: {describe_network_error(e)}",
                                  action=action, url=response.url) from e


class VerifyingReader(DigestCheckingReader):
    """Reads a streamed response body, hashing as it goes; at EOF (or past ``size``) a body that
    is not ``digest`` raises DigestMismatch. Nothing is buffered beyond the caller's reads.

    If the connection breaks, ``resume(offset)`` (at most ``resumes`` times) gives a response
    carrying the body from ``offset`` on; the hash simply continues over it. Closing the reader
    closes whichever response it holds."""

    def __init__(self, response: requests.Response, digest: str, size: int | None,
                 action: str, *, resume: Callable[[int], requests.Response] | None = None,
                 resumes: int = 0) -> None:
        super().__init__(digest, size, _hasher(digest, action))
        self._response = response
        self._resume = resume
        self._resumes_left = resumes if resume is not None else 0
        self._action = action

    def read_some(self, view: memoryview) -> int:
        while True:
            try:
                # urllib3 2 raises on a body shorter than its Content-Length (a cut
                # connection); a clean EOF is a complete answer, verified by the caller
                data = self._response.raw.read(len(view), decode_content=True)
                break
            except (urllib3.exceptions.HTTPError, OSError) as e:
                if self._resumes_left <= 0:
                    raise RegistryUnreachable(
                        f"connection lost after {self.count} bytes: {describe_network_error(e)}",
                        action=self._action, url=self._response.url, method="GET") from e
                self._resumes_left -= 1
                self._response.close()
                assert self._resume is not None
                self._response = self._resume(self.count)
        view[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._response.close()
        super().close()

    def mismatch(self, why: str) -> DigestMismatch:
        return DigestMismatch(f"digest mismatch for {self.digest}: {why}", action=self._action,
                              url=self._response.url, method="GET")


class ReopeningBody:
    """An upload body of exactly ``size`` bytes read from ``opener()``.

    ``seek(0)`` reopens it, so urllib3 (rewinding for a retry) and requests (re-sending after a
    redirect) start again from the first byte without the blob ever being held in memory.
    """

    def __init__(self, opener: Callable[[], BinaryIO], size: int, action: str) -> None:
        self._opener = opener
        self._size = size
        self._action = action
        self._stream: BinaryIO | None = None
        self._sent = 0

    def __len__(self) -> int:
        return self._size  # requests subtracts tell() to get the Content-Length

    def tell(self) -> int:
        return self._sent

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) not in ((0, io.SEEK_SET), (self._sent, io.SEEK_SET)):
            raise io.UnsupportedOperation("an upload body can only be rewound to its start")
        if offset == 0 and (self._sent or self._stream is None):
            self.close()
            self._sent = 0
        return self._sent

    def read(self, amount: int = -1) -> bytes:
        if self._stream is None:
            self._stream = self._opener()
        remaining = self._size - self._sent
        if remaining <= 0:
            return b""
        want = remaining if amount is None or amount < 0 else min(amount, remaining)
        data = self._stream.read(want)
        if not data:
            raise RegistryError(f"the blob source ended after {self._sent} of {self._size} bytes",
                                action=self._action)
        self._sent += len(data)
        return data

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(_CHUNK):
            yield chunk

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


def describe_network_error(error: BaseException) -> str:
    """The innermost useful reason of a requests/urllib3 exception chain, on one line."""
    seen: set[int] = set()
    current: BaseException = error
    while id(current) not in seen:
        seen.add(id(current))
        reason = getattr(current, "reason", None)
        if isinstance(reason, BaseException):
            current = reason
            continue
        inner = next((a for a in current.args if isinstance(a, BaseException)), None)
        if inner is not None:
            current = inner
            continue
        break
    text = str(current) or type(current).__name__
    if isinstance(current, urllib3.exceptions.NewConnectionError) and "): " in text:
        text = text.split("): ", 1)[1]  # drop "HTTPConnection(host=..., port=...)": the URL says it
    return " ".join(text.replace("(_ssl.c", "(ssl").split())
