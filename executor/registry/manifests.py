"""Manifests of one registry: fetch as stored, resolve an index to a platform's image, put."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import quote

from executor.image.media_types import MAX_MANIFEST_SIZE

from .errors import DigestMismatch, ManifestNotFound, RegistryError
from .manifest import MANIFEST_ACCEPT, Manifest, ManifestIndex, Platform, parse_manifest, sha256_digest
from .streams import digest_of, read_bounded
from .transport import Transport

__all__ = ["Manifests"]



class Manifests:
    """``/v2/<repository>/manifests/<reference>`` over one :class:`Transport`."""

    def __init__(self, transport: Transport) -> None:
        self._transport = transport

    def fetch(self, repository: str, reference: str) -> Manifest | ManifestIndex:
        """The manifest or index stored under ``reference`` (tag or digest), as stored."""
        where = f"pull {self._transport.registry}/{repository}{_sep(reference)}{reference}"
        response = self._transport.request(
            "GET", _path(repository, reference), action=where,
            scopes=self._transport.auth.scopes(repository),
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

    def get(self, repository: str, reference: str,
            platform: Platform | Sequence[str] = ("linux", "amd64")) -> Manifest:
        """The image manifest for ``reference``; from a list/index, the ``platform`` entry."""
        found = self.fetch(repository, reference)
        if isinstance(found, Manifest):
            return found
        where = f"pull {self._transport.registry}/{repository}{_sep(reference)}{reference}"
        entry = found.select(Platform.of(platform), where)
        chosen = self.fetch(repository, entry.digest)
        if not isinstance(chosen, Manifest):
            raise RegistryError(f"index entry {entry.digest} for {entry.platform} is itself an "
                                "index; nested indexes are not supported", action=where)
        return chosen

    def put(self, repository: str, reference: str, data: bytes, media_type: str) -> str:
        """PUT the exact ``data``; returns its digest (the registry's, or computed)."""
        where = f"push to {self._transport.registry}/{repository}{_sep(reference)}{reference}"
        response = self._transport.request(
            "PUT", _path(repository, reference), action=where,
            scopes=self._transport.auth.scopes(repository, write=True),
            headers={"Content-Type": media_type}, body=data, ok=(200, 201))
        response.close()
        return response.headers.get("Docker-Content-Digest") or sha256_digest(data)


def _path(repository: str, reference: str) -> str:
    return f"/v2/{repository}/manifests/{quote(reference, safe=':')}"


def _sep(reference: str) -> str:
    return "@" if ":" in reference else ":"
