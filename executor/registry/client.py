"""``RegistryClient``: the Distribution API v2 (manifests, blobs, uploads) for one registry."""

from __future__ import annotations

import contextlib
import io
import logging
import time
from pathlib import Path
from typing import BinaryIO, Callable, Iterator, Mapping, Sequence
from urllib.parse import quote, urljoin

import requests

from .auth import (PULL, PUSH, Challenge, Scope, TokenRequest, basic_authorization,
                   parse_challenges, pick_challenge, repository_scope, token_from_response,
                   token_request)
from .credentials import CredentialSource, Credentials
from .errors import (BlobNotFound, DigestMismatch, ManifestNotFound, NotFoundError,
                     RegistryError, RegistryUnreachable, TLSVerificationFailed,
                     error_from_response)
from .manifest import (MANIFEST_ACCEPT, Manifest, ManifestIndex, Platform, parse_manifest,
                       sha256_digest)
from .streams import (ReopeningBody, VerifyingReader, describe_network_error, digest_of,
                      read_bounded, skip_to)
from .transport import TLSOptions, make_session

MAX_MANIFEST_SIZE = 8 * 1024 * 1024
MAX_TOKEN_RESPONSE = 1024 * 1024
# Codes a registry answers when an upload session was consumed by a half-done attempt.
_STALE_UPLOAD_CODES = frozenset({"BLOB_UPLOAD_UNKNOWN", "BLOB_UPLOAD_INVALID"})
_DEFAULT_TIMEOUT = (30.0, 300.0)  # (connect, read) seconds
# Blobs larger than this go up in PATCH chunks of this size: one failed chunk then costs a
# chunk, and proxies that cap request bodies (commonly at a few hundred MiB) are not hit.
DEFAULT_CHUNK_SIZE = 64 * 1024 * 1024
# Statuses with which a registry refuses a monolithic PUT of the whole body (it wants PATCHes).
_MONOLITHIC_REFUSED = frozenset({405, 413, 501})
# Refresh a token this long before the realm said it expires (clock skew, slow requests).
_TOKEN_MARGIN = 30.0

_log = logging.getLogger(__name__)


class RegistryClient:
    """Talks to one registry host (``host[:port]``); auth is handled transparently.

    Reads ask for ``pull`` scope; writes (uploads, mounts, manifest PUTs) for ``pull,push``.
    ``push=True`` asks for ``pull,push`` on every request, so a push session gets one token per
    repository instead of two.
    """

    def __init__(self, registry: str, *, credentials: CredentialSource | None = None,
                 insecure: bool = False, skip_tls_verify: bool = False,
                 ca_bundle: Path | None = None, client_cert: tuple[Path, Path] | None = None,
                 retries: int = 3, push: bool = False,
                 timeout: tuple[float, float] = _DEFAULT_TIMEOUT,
                 chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.registry = registry
        self._credential_source = credentials
        self._credentials: Credentials | None = None
        self._credentials_looked_up = False
        self._retries = retries
        self._push = push
        self._timeout = timeout
        self._chunk_size = chunk_size
        self._schemes = ("https", "http") if insecure or is_loopback(registry) else ("https",)
        try:
            self._session = make_session(TLSOptions(skip_verify=skip_tls_verify,
                                                    ca_bundle=ca_bundle,
                                                    client_cert=client_cert), retries)
        except (OSError, ValueError) as e:
            raise TLSVerificationFailed(f"cannot load CA bundle {ca_bundle} or client "
                                        f"certificate {client_cert}: {e}",
                                        action=f"connect to {registry}") from e
        self._base: str | None = None
        self._challenge: Challenge | None = None
        # scopes -> (Authorization header, monotonic time after which to fetch a new one)
        self._tokens: dict[frozenset[Scope], tuple[str, float]] = {}

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]`` as chosen by :meth:`ping`."""
        if self._base is None:
            self.ping()
        assert self._base is not None
        return self._base

    # -- ping --------------------------------------------------------------------------------

    def ping(self) -> Challenge | None:
        """GET /v2/ over https (then http when allowed); remember the scheme and the auth
        challenge. A 401 is the registry saying how to authenticate, not an error."""
        action = f"ping {self.registry}"
        failures: list[tuple[str, Exception]] = []
        for scheme in self._schemes:
            url = f"{scheme}://{self.registry}/v2/"
            try:
                response = self._session.get(url, stream=True, timeout=self._timeout)
            except requests.RequestException as e:
                failures.append((url, e))
                continue
            tls_failed = any(isinstance(e, requests.exceptions.SSLError) for _, e in failures)
            if response.status_code not in (200, 401) and tls_failed:
                response.close()  # plain HTTP to a TLS port: the https failure is the story
                break
            if response.status_code == 401:
                challenges = parse_challenges(response.headers.get("WWW-Authenticate", ""))
                response.close()
                self._challenge = pick_challenge(challenges)
            elif response.status_code == 200:
                response.close()
                self._challenge = None
            else:
                raise error_from_response(response, action, registry=self.registry)
            self._base = f"{scheme}://{self.registry}"
            return self._challenge
        raise _unreachable(action, failures)

    # -- manifests ---------------------------------------------------------------------------

    def fetch_manifest(self, repository: str, reference: str) -> Manifest | ManifestIndex:
        """The manifest or index stored under ``reference`` (tag or digest), as stored."""
        where = f"pull {self.registry}/{repository}{_sep(reference)}{reference}"
        response = self._request("GET", f"/v2/{repository}/manifests/{quote(reference, safe=':')}",
                                 action=where, scopes=self._scopes(repository),
                                 headers={"Accept": MANIFEST_ACCEPT}, not_found=ManifestNotFound)
        with response:
            raw = read_bounded(response, MAX_MANIFEST_SIZE, where)
        parsed = parse_manifest(raw, response.headers.get("Content-Type"), where)
        if ":" in reference:  # asked by digest: what came back must be exactly that
            actual = digest_of(raw, reference.partition(":")[0], where)
            if actual != reference:
                raise DigestMismatch(f"manifest digest is {actual}, asked for {reference}",
                                     action=where, url=response.url, method="GET")
        return parsed

    def get_manifest(self, repository: str, reference: str,
                     platform: Platform | Sequence[str] = ("linux", "amd64")) -> Manifest:
        """The image manifest for ``reference``; from a list/index, the ``platform`` entry."""
        found = self.fetch_manifest(repository, reference)
        if isinstance(found, Manifest):
            return found
        where = f"pull {self.registry}/{repository}{_sep(reference)}{reference}"
        entry = found.select(Platform.of(platform), where)
        chosen = self.fetch_manifest(repository, entry.digest)
        if not isinstance(chosen, Manifest):
            raise RegistryError(f"index entry {entry.digest} for {entry.platform} is itself an "
                                "index; nested indexes are not supported", action=where)
        return chosen

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact ``data``; returns its digest (the registry's, or computed)."""
        where = f"push to {self.registry}/{repository}{_sep(reference)}{reference}"
        response = self._request("PUT", f"/v2/{repository}/manifests/{quote(reference, safe=':')}",
                                 action=where, scopes=self._scopes(repository, write=True),
                                 headers={"Content-Type": media_type}, body=data, ok=(200, 201))
        response.close()
        return response.headers.get("Docker-Content-Digest") or sha256_digest(data)

    # -- blobs -------------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        where = f"check blob {self.registry}/{repository}@{digest}"
        response = self._request("HEAD", f"/v2/{repository}/blobs/{digest}", action=where,
                                 scopes=self._scopes(repository), ok=(200, 404))
        response.close()
        return response.status_code == 200

    @contextlib.contextmanager
    def open_blob(self, repository: str, digest: str,
                  size: int | None = None) -> Iterator[BinaryIO]:
        """A stream of the blob, verified against ``digest`` (and ``size`` if given) as it is
        read: the read that reaches EOF raises DigestMismatch if the bytes are wrong. Leaving
        the ``with`` block normally reads and verifies whatever the caller did not."""
        where = f"pull blob {self.registry}/{repository}@{digest}"
        # Redirects (to blob storage, maybe another host) are followed by requests, which drops
        # the Authorization header whenever the host, port or scheme changes.
        response = self._request("GET", f"/v2/{repository}/blobs/{digest}", action=where,
                                 scopes=self._scopes(repository), not_found=BlobNotFound)

        def resume(offset: int) -> requests.Response:
            # A connection cut mid-blob: ask for the rest (registries serve Range on blobs);
            # a server that ignores Range answers 200 and the skipped prefix is read away.
            again = self._request("GET", f"/v2/{repository}/blobs/{digest}", action=where,
                                  scopes=self._scopes(repository), not_found=BlobNotFound,
                                  headers={"Range": f"bytes={offset}-"}, ok=(200, 206))
            if again.status_code == 200:
                skip_to(again, offset, where)
            return again

        reader = io.BufferedReader(VerifyingReader(response, digest, size, where,
                                                   resume=resume, resumes=self._retries),
                                   buffer_size=1024 * 1024)
        try:
            yield reader  # type: ignore[misc]  # BufferedReader is a BinaryIO
            while not reader.closed and reader.read(1024 * 1024):
                pass
        finally:
            reader.close()

    def get_blob_bytes(self, repository: str, digest: str, max_size: int) -> bytes:
        """A small blob (an image config) in memory, verified; refuses blobs over ``max_size``."""
        with self.open_blob(repository, digest) as stream:
            data = stream.read(max_size + 1)
            if len(data) > max_size:
                raise RegistryError(f"blob is larger than {max_size} bytes",
                                    action=f"pull blob {self.registry}/{repository}@{digest}")
        return data

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link ``digest`` from ``from_repository``; False if it would not
        (it then opened an upload session, which we cancel)."""
        where = f"mount blob {digest} from {from_repository} to {self.registry}/{repository}"
        scopes = [*self._scopes(repository, write=True), repository_scope(from_repository, PULL)]
        response = self._request("POST", f"/v2/{repository}/blobs/uploads/", action=where,
                                 scopes=scopes, params={"mount": digest, "from": from_repository},
                                 ok=(201, 202))
        response.close()
        if response.status_code == 201:
            return True
        location = response.headers.get("Location")
        if location:
            with contextlib.suppress(RegistryError):
                self._request("DELETE", urljoin(response.url, location), action=where,
                              scopes=scopes, ok=(200, 202, 204, 404)).close()
        return False

    def upload_blob(self, repository: str, digest: str, size: int,
                    opener: Callable[[], BinaryIO]) -> None:
        """Monolithic upload: POST an upload session, PUT the bytes from ``opener()`` there.

        ``opener`` must return the blob from its first byte each time it is called: a retried
        PUT and a restarted upload both reopen it. The session's retry policy handles transient
        faults of each request; if the PUT still fails after the registry was reached (or the
        registry says the half-used upload session is gone), the whole POST+PUT sequence is
        restarted here, at most ``retries`` times.
        """
        where = f"push blob {digest} to {self.registry}/{repository}"
        scopes = self._scopes(repository, write=True)
        chunked = False
        for attempt in range(self._retries + 1):
            last_attempt = attempt == self._retries
            location = self._start_upload(repository, where, scopes)
            body = ReopeningBody(opener, size, where)
            try:
                if chunked or size > self._chunk_size:
                    response = self._upload_chunks(location, digest, size, opener, where, scopes)
                else:
                    # requests would send an empty stream chunked; an empty blob is an empty body
                    data: bytes | ReopeningBody = body if size else b""
                    response = self._request(
                        "PUT", location, action=where, scopes=scopes, params={"digest": digest},
                        body=data, ok=(201, 204, *_MONOLITHIC_REFUSED),
                        headers={"Content-Type": "application/octet-stream"})
                    if response.status_code in _MONOLITHIC_REFUSED:
                        response.close()
                        _log.info("%s: registry refused a monolithic upload (%d); uploading in "
                                  "chunks", where, response.status_code)
                        chunked = True
                        self._cancel_upload(location, where, scopes)
                        location = self._start_upload(repository, where, scopes)
                        response = self._upload_chunks(location, digest, size, opener, where,
                                                       scopes)
            except RegistryUnreachable:
                if last_attempt:
                    raise
                continue
            except RegistryError as e:
                if last_attempt or not _STALE_UPLOAD_CODES & set(e.codes):
                    raise
                continue
            finally:
                body.close()
            response.close()
            stored = response.headers.get("Docker-Content-Digest")
            if stored and stored != digest:
                raise DigestMismatch(f"registry stored {stored}, expected {digest}",
                                     action=where, url=response.url, method="PUT")
            return

    def _upload_chunks(self, location: str, digest: str, size: int,
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
                response = self._request(
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
        return self._request("PUT", location, action=where, scopes=scopes,
                             params={"digest": digest}, body=b"", ok=(201, 204))

    def _cancel_upload(self, location: str, where: str, scopes: list[str]) -> None:
        with contextlib.suppress(RegistryError):
            self._request("DELETE", location, action=where, scopes=scopes,
                          ok=(200, 202, 204, 404)).close()

    def check_push(self, repository: str) -> None:
        """Prove we may push to ``repository`` without pushing: open an upload session (which
        needs a push token) and cancel it. Raises AuthenticationError if we may not."""
        where = f"check push permission for {self.registry}/{repository}"
        scopes = self._scopes(repository, write=True)
        location = self._start_upload(repository, where, scopes)
        self._cancel_upload(location, where, scopes)

    def _start_upload(self, repository: str, where: str, scopes: list[str]) -> str:
        response = self._request("POST", f"/v2/{repository}/blobs/uploads/", action=where,
                                 scopes=scopes, ok=(202,))
        response.close()
        location = response.headers.get("Location")
        if not location:
            raise RegistryError("registry opened an upload without a Location header",
                                action=where, url=response.url, method="POST", status=202)
        # Location may be relative, absolute (another host) and may carry a query string
        # (distribution's _state); requests appends ?digest= to an existing query correctly.
        return urljoin(response.url, location)

    # -- requests, auth ----------------------------------------------------------------------

    def _scopes(self, repository: str, *, write: bool = False) -> list[str]:
        actions = (PULL, PUSH) if write or self._push else (PULL,)
        return [repository_scope(repository, *actions)]

    def _request(self, method: str, path_or_url: str, *, action: str, scopes: Sequence[str],
                 ok: Sequence[int] = (200,), not_found: type[NotFoundError] = NotFoundError,
                 headers: Mapping[str, str] | None = None, params: Mapping[str, str] | None = None,
                 body: bytes | ReopeningBody | None = None) -> requests.Response:
        """Send with auth (re-authenticating once on 401); a response with status in ``ok``
        is returned unread (``stream=True``), anything else raises the typed error."""
        url = path_or_url if "://" in path_or_url else self.base_url + path_or_url
        fresh = False
        for attempt in (1, 2):
            sent_headers = dict(headers or {})
            authorization = self._authorization(scopes, fresh=fresh, action=action)
            if authorization:
                sent_headers["Authorization"] = authorization
            if isinstance(body, ReopeningBody):
                body.seek(0)
            response = self._send(method, url, action, headers=sent_headers, params=params,
                                  body=body)
            if response.status_code != 401 or attempt == 2:
                break
            challenge = pick_challenge(parse_challenges(response.headers.get("WWW-Authenticate",
                                                                             "")))
            if challenge is None or (challenge.scheme == "basic" and self._creds() is None):
                break  # nothing better to offer: report the 401 as it is
            response.close()
            self._challenge = challenge
            fresh = True
        if response.status_code in ok:
            return response
        auth_hint = None if self._creds() else f"no credentials configured for {self.registry}"
        raise error_from_response(response, action, registry=self.registry, not_found=not_found,
                                  auth_hint=auth_hint)

    def _send(self, method: str, url: str, action: str, *, headers: Mapping[str, str],
              params: Mapping[str, str] | None = None,
              body: bytes | ReopeningBody | None = None) -> requests.Response:
        try:
            response = self._session.request(method, url, headers=headers, params=params,
                                             data=body, stream=True, timeout=self._timeout)
        except requests.RequestException as e:
            raise _unreachable(action, [(url, e)]) from e
        # the URL only: headers carry credentials
        _log.debug("%s %s -> %s", method, response.url, response.status_code)
        return response

    def _creds(self) -> Credentials | None:
        if not self._credentials_looked_up and self._credential_source is not None:
            self._credentials = self._credential_source.credentials_for(self.registry)
        self._credentials_looked_up = True
        return self._credentials

    def _authorization(self, scopes: Sequence[str], *, fresh: bool, action: str) -> str | None:
        if self._base is None:
            self.ping()
        challenge = self._challenge
        if challenge is None:
            return None
        credentials = self._creds()
        if challenge.scheme == "basic":
            return basic_authorization(credentials) if credentials is not None else None
        wanted = frozenset(Scope.parse(s) for s in scopes)
        now = time.monotonic()
        if not fresh:
            for held, (header, refresh_after) in list(self._tokens.items()):
                if now >= refresh_after:
                    del self._tokens[held]  # expired (or about to): never send it again
                elif all(any(h.covers(w) for h in held) for w in wanted):
                    return header
        header, lifetime = self._fetch_token(
            token_request(challenge, credentials, scopes, self.registry), action)
        self._tokens[wanted] = (header, now + lifetime - min(_TOKEN_MARGIN, lifetime / 10))
        return header

    def _fetch_token(self, request: TokenRequest, action: str) -> tuple[str, float]:
        headers = {"Authorization": request.authorization} if request.authorization else {}
        _log.debug("token for %s from %s (%s credentials)", self.registry, request.url,
                   "with" if request.authorization or request.form else "without")
        try:
            response = self._session.request(request.method, request.url,
                                             params=list(request.params), data=request.form,
                                             headers=headers, stream=True,
                                             timeout=self._timeout)
        except requests.RequestException as e:
            raise _unreachable(f"{action} (token server)", [(request.url, e)]) from e
        if response.status_code != 200:
            raise error_from_response(response, f"{action}: token server refused",
                                      registry=self.registry)
        with response:
            body = read_bounded(response, MAX_TOKEN_RESPONSE, action)
        return token_from_response(body, self.registry)


class _SharedStream:
    """One open stream of a blob read through slice by slice; a slice asked for again (a retried
    PATCH) reopens the blob and skips to it, seeking when the stream can."""

    def __init__(self, opener: Callable[[], BinaryIO]) -> None:
        self._opener = opener
        self._stream: BinaryIO | None = None
        self._position = 0

    def opener_at(self, offset: int) -> Callable[[], BinaryIO]:
        def open_slice() -> BinaryIO:
            if self._stream is None or self._position != offset:
                self.close()
                self._stream = self._opener()
                self._position = 0
                if offset and self._stream.seekable():
                    self._position = self._stream.seek(offset)
                while self._position < offset:
                    dropped = self._stream.read(min(offset - self._position, 1024 * 1024))
                    if not dropped:
                        break  # ReopeningBody reports the short source
                    self._position += len(dropped)
            return _Tracking(self)
        return open_slice

    def close(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None


class _Tracking(io.RawIOBase):
    """A view of the shared stream that counts what is read and leaves it open on close."""

    def __init__(self, shared: _SharedStream) -> None:
        super().__init__()
        self._shared = shared

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        assert self._shared._stream is not None
        data = self._shared._stream.read(size)
        self._shared._position += len(data)
        return data


def is_loopback(registry: str) -> bool:
    """``localhost``, ``127.x.x.x`` or ``::1``, with or without a port."""
    host = registry
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host == "localhost" or host == "::1" or host.startswith("127.")


def _sep(reference: str) -> str:
    return "@" if ":" in reference else ":"


def _unreachable(action: str, failures: list[tuple[str, Exception]]) -> RegistryError:
    details = "; ".join(f"{url}: {describe_network_error(e)}" for url, e in failures)
    tls = [e for _, e in failures if isinstance(e, requests.exceptions.SSLError)]
    if tls:
        return TLSVerificationFailed(
            f"TLS handshake failed: {describe_network_error(tls[0])}", action=action,
            url=failures[0][0],
            hint="trust the registry's CA (--registry-certificate) or pass --skip-tls-verify")
    return RegistryUnreachable(f"registry unreachable: {details}", action=action)


__all__ = ["RegistryClient", "is_loopback"]
