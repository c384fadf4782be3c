"""Blobs of one registry: exists, mount, upload (monolithic or chunked, restarted whole when a
failure is temporary) and open (verified as read, resumed with Range when a connection breaks)."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from typing import BinaryIO, cast
from urllib.parse import urljoin

import requests

from .auth import PULL, repository_scope
from .errors import BlobNotFound, DigestMismatch, RegistryError
from .streams import ReopeningBody, VerifyingReader, skip_to
from .transport import Transport

__all__ = ["DEFAULT_CHUNK_SIZE", "Blobs"]

# Blobs larger than this go up in PATCH chunks of this size: one failed chunk then costs a
# chunk, and proxies that cap request bodies (commonly at a few hundred MiB) are not hit.
DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
# Statuses with which a registry refuses a monolithic PUT of the whole body (it wants PATCHes).
_MONOLITHIC_REFUSED = frozenset({405, 413, 501})
_READ_SIZE = 1024 * 1024

_log = logging.getLogger(__name__)


class Blobs:
    """``/v2/<repository>/blobs/...`` over one :class:`Transport`; restarts and resumes are
    counted by the transport's :class:`~executor.registry.transport.RetryPolicy`."""

    def __init__(self, transport: Transport, chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self._transport = transport
        self._chunk_size = chunk_size

    # -- reading -----------------------------------------------------------------------------

    def exists(self, repository: str, digest: str) -> bool:
        where = f"check blob {self._transport.registry}/{repository}@{digest}"
        response = self._transport.request("HEAD", f"/v2/{repository}/blobs/{digest}",
                                           action=where, ok=(200, 404),
                                           scopes=self._transport.auth.scopes(repository))
        response.close()
        return response.status_code == 200

    @contextlib.contextmanager
    def open(self, repository: str, digest: str, size: int | None = None) -> Iterator[BinaryIO]:
        """A stream of the blob, verified against ``digest`` (and ``size`` if given) as it is
        read: the read that reaches EOF raises DigestMismatch if the bytes are wrong. Leaving
        the ``with`` block normally reads and verifies whatever the caller did not."""
        where = f"pull blob {self._transport.registry}/{repository}@{digest}"
        scopes = self._transport.auth.scopes(repository)
        # Redirects (to blob storage, maybe another host) are followed by requests, which drops
        # the Authorization header whenever the host, port or scheme changes.
        response = self._transport.request("GET", f"/v2/{repository}/blobs/{digest}",
                                           action=where, scopes=scopes, not_found=BlobNotFound)

        def resume(offset: int) -> requests.Response:
            # A connection cut mid-blob: ask for the rest (registries serve Range on blobs);
            # a server that ignores Range answers 200 and the skipped prefix is read away.
            again = self._transport.request(
                "GET", f"/v2/{repository}/blobs/{digest}", action=where, scopes=scopes,
                not_found=BlobNotFound, headers={"Range": f"bytes={offset}-"}, ok=(200, 206))
            if again.status_code == 200:
                skip_to(again, offset, where)
            return again

        verifying = VerifyingReader(response, digest, size, where, resume=resume,
                                    resumes=self._transport.retry.resumes)
        reader = io.BufferedReader(verifying, buffer_size=_READ_SIZE)
        try:
            yield cast(BinaryIO, reader)
            while not reader.closed and reader.read(_READ_SIZE):
                pass
        finally:
            reader.close()

    def get_bytes(self, repository: str, digest: str, max_size: int) -> bytes:
        """A small blob (an image config) in memory, verified; refuses blobs over ``max_size``."""
        with self.open(repository, digest) as stream:
            data = stream.read(max_size + 1)
            if len(data) > max_size:
                raise RegistryError(f"blob is larger than {max_size} bytes", action=(
                    f"pull blob {self._transport.registry}/{repository}@{digest}"))
        return data

    # -- writing -----------------------------------------------------------------------------

    def mount(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link ``digest`` from ``from_repository``; False if it would not
        (it then opened an upload session, which we cancel)."""
        where = (f"mount blob {digest} from {from_repository} to "
                 f"{self._transport.registry}/{repository}")
        scopes = [*self._transport.auth.scopes(repository, write=True),
                  repository_scope(from_repository, PULL)]
        response = self._transport.request(
            "POST", f"/v2/{repository}/blobs/uploads/", action=where, scopes=scopes,
            params={"mount": digest, "from": from_repository}, ok=(201, 202))
        response.close()
        if response.status_code == 201:
            return True
        location = response.headers.get("Location")
        if location:
            self._cancel(urljoin(response.url, location), where, scopes)
        return False

    def upload(self, repository: str, digest: str, size: int,
               opener: Callable[[], BinaryIO]) -> None:
        """POST an upload session, PUT the bytes from ``opener()`` there (or PATCH them in
        chunks when the blob is large or the registry refuses a monolithic PUT).

        ``opener`` must return the blob from its first byte each time it is called: a retried
        PUT and a restarted upload both reopen it. The session's retry policy handles transient
        faults of each request; if the upload still fails with an error that is ``temporary``
        (the registry was not reached, or says the half-used upload session is gone), the whole
        sequence is restarted here, at most ``RetryPolicy.restarts`` times.
        """
        where = f"push blob {digest} to {self._transport.registry}/{repository}"
        scopes = self._transport.auth.scopes(repository, write=True)
        restarts = self._transport.retry.restarts
        chunked = size > self._chunk_size
        for attempt in range(restarts + 1):
            location = self._start(repository, where, scopes)
            try:
                response = None
                if not chunked:
                    response = self._put_whole(location, digest, size, opener, where, scopes)
                if response is None and not chunked:
                    chunked = True  # this registry wants PATCHes, on a restart too
                    self._cancel(location, where, scopes)
                    location = self._start(repository, where, scopes)
                if response is None:
                    response = self._put_chunks(location, digest, size, opener, where, scopes)
            except RegistryError as e:
                if attempt == restarts or not e.temporary:
                    raise
                continue
            response.close()
            stored = response.headers.get("Docker-Content-Digest")
            if stored and stored != digest:
                raise DigestMismatch(f"registry stored {stored}, expected {digest}",
                                     action=where, url=response.url, method="PUT")
            return

    def check_push(self, repository: str) -> None:
        """Prove we may push to ``repository`` without pushing: open an upload session (which
        needs a push token) and cancel it. Raises AuthenticationError if we may not."""
        where = f"check push permission for {self._transport.registry}/{repository}"
        scopes = self._transport.auth.scopes(repository, write=True)
        self._cancel(self._start(repository, where, scopes), where, scopes)

    def _put_whole(self, location: str, digest: str, size: int, opener: Callable[[], BinaryIO],
                   where: str, scopes: list[str]) -> requests.Response | None:
        """The monolithic PUT; None if the registry refused it (and wants chunks)."""
        body = ReopeningBody(opener, size, where)
        try:
            # requests would send an empty stream chunked; an empty blob is an empty body
            response = self._transport.request(
                "PUT", location, action=where, scopes=scopes, params={"digest": digest},
                body=body if size else b"", ok=(201, 204, *_MONOLITHIC_REFUSED),
                headers={"Content-Type": "application/octet-stream"})
        finally:
            body.close()
        if response.status_code not in _MONOLITHIC_REFUSED:
            return response
        response.close()
        _log.info("%s: registry refused a monolithic upload (%d); uploading in chunks", where,
                  response.status_code)
        return None

    def _put_chunks(self, location: str, digest: str, size: int,
                    opener: Callable[[], BinaryIO], where: str,
                    scopes: list[str]) -> requests.Response:
        """PATCH ``chunk_size`` slices with ``Content-Range`` (following each new Location),
        then PUT ``?digest=`` with no body. One stream is read through; a retried PATCH reopens
        the blob and skips to its slice."""
        shared = _SharedStream(opener)
        try:
            offset = 0
            while offset < size:
                length = min(self._chunk_size, size - offset)
                body = ReopeningBody(shared.opener_at(offset), length, where)
                end = offset + length - 1
                response = self._transport.request(
                    "PATCH", location, action=where, scopes=scopes, body=body, ok=(202, 204),
                    headers={"Content-Type": "application/octet-stream",
                             "Content-Range": f"{offset}-{end}"})
                response.close()
                moved = response.headers.get("Location")
                if moved:
                    location = urljoin(response.url, moved)
                offset += length
        finally:
            shared.close()
        return self._transport.request("PUT", location, action=where, scopes=scopes,
                                       params={"digest": digest}, body=b"", ok=(201, 204))

    def _start(self, repository: str, where: str, scopes: list[str]) -> str:
        response = self._transport.request("POST", f"/v2/{repository}/blobs/uploads/",
                                           action=where, scopes=scopes, ok=(202,))
        response.close()
        location = response.headers.get("Location")
        if not location:
            raise RegistryError("registry opened an upload without a Location header",
                                action=where, url=response.url, method="POST", status=202)
        # Location may be relative, absolute (another host) and may carry a query string
        # (distribution's _state); requests appends ?digest= to an existing query correctly.
        return urljoin(response.url, location)

    def _cancel(self, location: str, where: str, scopes: list[str]) -> None:
        with contextlib.suppress(RegistryError):
            self._transport.request("DELETE", location, action=where, scopes=scopes,
                                    ok=(200, 202, 204, 404)).close()


class _SharedStream:
    """One open stream of a blob read through slice by slice; a slice asked for again (a retried
    PATCH) reopens the blob and skips to it, seeking when the stream can."""

    def __init__(self, opener: Callable[[], BinaryIO]) -> None:
        self._opener = opener
        self.stream: BinaryIO | None = None
        self.position = 0

    def opener_at(self, offset: int) -> Callable[[], BinaryIO]:
        def open_slice() -> BinaryIO:
            if self.stream is None or self.position != offset:
                self.close()
                self.stream = self._opener()
                self.position = 0
                if offset and self.stream.seekable():
                    self.position = self.stream.seek(offset)
                while self.position < offset:
                    dropped = self.stream.read(min(offset - self.position, _READ_SIZE))
                    if not dropped:
                        break  # ReopeningBody reports the short source
                    self.position += len(dropped)
            return cast(BinaryIO, _Tracking(self))
        return open_slice

    def close(self) -> None:
        if self.stream is not None:
            self.stream.close()
            self.stream = None


class _Tracking(io.RawIOBase):
    """A view of the shared stream that counts what is read and leaves it open on close."""

    def __init__(self, shared: _SharedStream) -> None:
        super().__init__()
        self._shared = shared

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        assert self._shared.stream is not None
        data = self._shared.stream.read(size)
        self._shared.position += len(data)
        return data
