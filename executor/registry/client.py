"""``RegistryClient``: the Distribution API v2 (manifests, blobs, uploads) for one registry.

A facade over the layers: :class:`~executor.registry.transport.Transport` (session, retries,
scheme, auth applied per request) driven by an :class:`~executor.registry.auth.AuthFlow`, with
:class:`~executor.registry.manifests.Manifests` and :class:`~executor.registry.blobs.Blobs` on top.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO

from executor.http import TLSOptions

from .auth import AuthFlow, Challenge
from .blobs import DEFAULT_CHUNK_SIZE, Blobs
from .credentials import CredentialSource
from .errors import RegistryError
from .manifest import Manifest, ManifestIndex, Platform
from .manifests import Manifests
from .transport import DEFAULT_RETRY, DEFAULT_TIMEOUT, RetryPolicy, Transport, is_loopback

__all__ = ["DEFAULT_CHUNK_SIZE", "RegistryClient", "RetryPolicy", "is_loopback"]


class RegistryClient:
    """Talks to one registry host (``host[:port]``); auth is handled transparently.

    Reads ask for ``pull`` scope; writes (uploads, mounts, manifest PUTs) for ``pull,push``.
    ``push=True`` asks for ``pull,push`` on every request, so a push session gets one token per
    repository instead of two. ``retry`` holds every retry count (requests, upload restarts,
    download resumes).
    """

    def __init__(self, registry: str, *, credentials: CredentialSource | None = None,
                 insecure: bool = False, skip_tls_verify: bool = False,
                 ca_bundle: Path | None = None, client_cert: tuple[Path, Path] | None = None,
                 retry: RetryPolicy = DEFAULT_RETRY, push: bool = False,
                 timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 chunk_size: int = DEFAULT_CHUNK_SIZE) -> None:
        self.registry = registry
        tls = TLSOptions(skip_verify=skip_tls_verify, ca_bundle=ca_bundle,
                         client_cert=client_cert)
        self._transport = Transport(registry, AuthFlow(registry, credentials, push=push),
                                    retry=retry, tls=tls, insecure=insecure, timeout=timeout)
        self._manifests = Manifests(self._transport)
        self._blobs = Blobs(self._transport, chunk_size)

    # -- lifecycle ---------------------------------------------------------------------------

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy every request, upload restart and download resume follows."""
        return self._transport.retry

    @property
    def base_url(self) -> str:
        """``scheme://host[:port]`` as chosen by :meth:`ping`."""
        return self._transport.base_url

    def ping(self) -> Challenge | None:
        """GET /v2/ over https (then http when allowed); remember the scheme and the auth
        challenge. A 401 is the registry saying how to authenticate, not an error."""
        return self._transport.ping()

    # -- manifests ---------------------------------------------------------------------------

    def fetch_manifest(self, repository: str, reference: str) -> Manifest | ManifestIndex:
        """The manifest or index stored under ``reference`` (tag or digest), as stored."""
        return self._manifests.fetch(repository, reference)

    def get_manifest(self, repository: str, reference: str,
                     platform: Platform | Sequence[str] = ("linux", "amd64")) -> Manifest:
        """The image manifest for ``reference``; from a list/index, the ``platform`` entry."""
        return self._manifests.get(repository, reference, platform)

    def put_manifest(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact ``data``; returns its digest (the registry's, or computed)."""
        return self._manifests.put(repository, reference, data, media_type)

    def has_referrers_api(self, repository: str, digest: str) -> bool:
        """Whether the registry answers OCI 1.1's ``GET /v2/<repository>/referrers/<digest>``
        (it then lists an artifact by its ``subject`` itself; docker-registry 2.8 does not)."""
        try:
            self._transport.request(
                "GET", f"/v2/{repository}/referrers/{digest}",
                action=f"list referrers of {self.registry}/{repository}@{digest}",
                scopes=self._transport.auth.scopes(repository)).close()
        except RegistryError as error:
            if error.status in (400, 404, 405):
                return False
            raise
        return True

    # -- blobs -------------------------------------------------------------------------------

    def blob_exists(self, repository: str, digest: str) -> bool:
        return self._blobs.exists(repository, digest)

    def open_blob(self, repository: str, digest: str,
                  size: int | None = None) -> AbstractContextManager[BinaryIO]:
        """A stream of the blob, verified against ``digest`` (and ``size`` if given) as it is
        read: the read that reaches EOF raises DigestMismatch if the bytes are wrong; a
        connection cut mid-blob resumes with a Range request. Leaving the ``with`` block
        normally reads and verifies whatever the caller did not."""
        return self._blobs.open(repository, digest, size)

    def get_blob_bytes(self, repository: str, digest: str, max_size: int) -> bytes:
        """A small blob (an image config) in memory, verified; refuses blobs over ``max_size``."""
        return self._blobs.get_bytes(repository, digest, max_size)

    def mount_blob(self, repository: str, digest: str, from_repository: str) -> bool:
        """Ask the registry to link ``digest`` from ``from_repository``; False if it would not."""
        return self._blobs.mount(repository, digest, from_repository)

    def upload_blob(self, repository: str, digest: str, size: int,
                    opener: Callable[[], BinaryIO]) -> None:
        """Upload the blob ``opener()`` returns (from its first byte, each time it is called)."""
        self._blobs.upload(repository, digest, size, opener)

    def check_push(self, repository: str) -> None:
        """Prove we may push to ``repository`` without pushing (AuthenticationError if not)."""
        self._blobs.check_push(repository)
