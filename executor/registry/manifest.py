"""Manifests and descriptors as values, parsed from a registry's raw bytes (no I/O here)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from executor.image.digest import sha256_digest
from executor.image.media_types import DOCKER_MANIFEST as DOCKER_MANIFEST_SCHEMA2
from executor.image.media_types import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_SCHEMA1,
    DOCKER_MANIFEST_SCHEMA1_SIGNED,
    OCI_INDEX,
    OCI_MANIFEST,
)
from executor.image.platform import Platform

from .errors import PlatformNotFound, UnsupportedManifest

IMAGE_MANIFEST_TYPES = frozenset({DOCKER_MANIFEST_SCHEMA2, OCI_MANIFEST})
INDEX_TYPES = frozenset({DOCKER_MANIFEST_LIST, OCI_INDEX})
SCHEMA1_TYPES = frozenset({DOCKER_MANIFEST_SCHEMA1, DOCKER_MANIFEST_SCHEMA1_SIGNED})
# What we ask for, best first; schema 1 is deliberately absent (registries then convert or refuse).
MANIFEST_ACCEPT = ", ".join((OCI_INDEX, DOCKER_MANIFEST_LIST, OCI_MANIFEST,
                             DOCKER_MANIFEST_SCHEMA2))


@dataclass(frozen=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    urls: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)
    platform: Platform | None = None

    @classmethod
    def from_json(cls, document: Any, where: str) -> Descriptor:
        if not isinstance(document, dict):
            raise UnsupportedManifest(f"{where}: a descriptor is not a JSON object")
        try:
            platform = None
            if isinstance(document.get("platform"), dict):
                p = document["platform"]
                platform = Platform(str(p["os"]), str(p["architecture"]), p.get("variant") or None)
            return cls(media_type=str(document.get("mediaType") or ""),
                       digest=str(document["digest"]), size=int(document["size"]),
                       urls=tuple(document.get("urls") or ()),
                       annotations=dict(document.get("annotations") or {}), platform=platform)
        except (KeyError, TypeError, ValueError) as e:
            raise UnsupportedManifest(f"{where}: malformed descriptor: {e!r}") from e

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"mediaType": self.media_type, "digest": self.digest,
                               "size": self.size}
        if self.urls:
            out["urls"] = list(self.urls)
        if self.annotations:
            out["annotations"] = dict(self.annotations)
        if self.platform is not None:
            out["platform"] = self.platform.to_json()
        return out


@dataclass(frozen=True)
class Manifest:
    """An image manifest (Docker schema 2 or OCI) with the exact bytes the registry holds."""

    raw: bytes = field(repr=False)
    media_type: str
    digest: str
    config: Descriptor
    layers: tuple[Descriptor, ...]


@dataclass(frozen=True)
class ManifestIndex:
    """A Docker manifest list or OCI index."""

    raw: bytes = field(repr=False)
    media_type: str
    digest: str
    manifests: tuple[Descriptor, ...]

    def select(self, wanted: Platform, where: str) -> Descriptor:
        for entry in self.manifests:
            if entry.platform is not None and wanted.matches(entry.platform):
                return entry
        available = ", ".join(str(e.platform) for e in self.manifests if e.platform) or "none"
        raise PlatformNotFound(f"no image for platform {wanted} (available: {available})",
                               action=where)


def detect_media_type(raw: bytes, content_type: str | None, where: str) -> tuple[str, dict]:
    """The manifest's media type (from Content-Type, its ``mediaType`` field, or its shape)."""
    try:
        document = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise UnsupportedManifest(f"manifest is not JSON: {e}", action=where) from e
    if not isinstance(document, dict):
        raise UnsupportedManifest("manifest is not a JSON object", action=where)
    header = (content_type or "").split(";")[0].strip()
    media_type = document.get("mediaType") or ""
    if header and header not in ("application/json", "text/plain"):
        media_type = header
    if not media_type:
        if document.get("schemaVersion") == 1:
            media_type = DOCKER_MANIFEST_SCHEMA1
        elif "manifests" in document:
            media_type = OCI_INDEX
        elif "config" in document and "layers" in document:
            media_type = OCI_MANIFEST
    return media_type, document


def parse_manifest(raw: bytes, content_type: str | None, where: str) -> Manifest | ManifestIndex:
    """Parse what a manifests endpoint returned; schema 1 and unknown types are refused."""
    media_type, document = detect_media_type(raw, content_type, where)
    digest = sha256_digest(raw)
    if media_type in SCHEMA1_TYPES or document.get("schemaVersion") == 1:
        raise UnsupportedManifest("Docker image manifest schema 1 is not supported; push the "
                                  "image again with a current client (schema 2 or OCI)",
                                  action=where)
    if media_type in INDEX_TYPES:
        entries = document.get("manifests")
        if not isinstance(entries, list):
            raise UnsupportedManifest("index without a 'manifests' list", action=where)
        return ManifestIndex(raw=raw, media_type=media_type, digest=digest,
                             manifests=tuple(Descriptor.from_json(e, where) for e in entries))
    if media_type in IMAGE_MANIFEST_TYPES:
        layers = document.get("layers")
        if not isinstance(layers, list):
            raise UnsupportedManifest("manifest without a 'layers' list", action=where)
        return Manifest(raw=raw, media_type=media_type, digest=digest,
                        config=Descriptor.from_json(document.get("config"), where),
                        layers=tuple(Descriptor.from_json(e, where) for e in layers))
    raise UnsupportedManifest(f"unsupported manifest media type {media_type or 'unknown'!r}",
                              action=where)
