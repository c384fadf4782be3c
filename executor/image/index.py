"""Image indexes as values: one image per platform under an OCI image index, or a Docker manifest
list (``--image-format docker``). Like images, an index is made once from its parts and never
changed; the writers (``layout``, ``tarball``, ``executor.registry.push``) each take one."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from executor.image.digest import sha256_digest
from executor.image.media_types import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX
from executor.image.model import Image, ManifestBytes
from executor.image.platform import Platform

__all__ = ["ImageIndex", "IndexBytes", "IndexEntry", "PlatformImage", "serialize_index"]


@dataclass(frozen=True)
class IndexEntry:
    """One manifest an index names: for which platform, and its descriptor."""

    platform: Platform
    media_type: str
    digest: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest, "size": self.size,
                "platform": self.platform.to_json()}


@dataclass(frozen=True)
class IndexBytes:
    """A serialized index exactly as it is pushed or written."""

    manifest: bytes
    media_type: str

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


def serialize_index(entries: Sequence[IndexEntry], index_format: str = "docker",
                    annotations: Mapping[str, str] | None = None) -> IndexBytes:
    """An OCI image index (``oci``) or a Docker manifest list (``docker``) naming ``entries`` in
    order. Only an OCI index has ``annotations``; a Docker manifest list has no such field."""
    platforms = [str(entry.platform) for entry in entries]
    twice = sorted({p for p in platforms if platforms.count(p) > 1})
    if twice:
        raise ValueError(f"an index names each platform once; {', '.join(twice)} comes more than once")
    media_type = OCI_INDEX if index_format == "oci" else DOCKER_MANIFEST_LIST
    if annotations and media_type != OCI_INDEX:
        raise ValueError("a Docker manifest list has no annotations: an OCI image index is needed")
    document: dict[str, Any] = {"schemaVersion": 2, "mediaType": media_type,
                                "manifests": [entry.to_json() for entry in entries]}
    if annotations:
        document["annotations"] = dict(sorted(annotations.items()))
    return IndexBytes(json.dumps(document, separators=(",", ":")).encode(), media_type)


@dataclass(frozen=True)
class PlatformImage:
    """An image built for one platform, with its manifest and config as serialized."""

    platform: Platform
    image: Image
    serialized: ManifestBytes

    def entry(self) -> IndexEntry:
        return IndexEntry(self.platform, self.serialized.media_type, self.serialized.digest,
                          len(self.serialized.manifest))


@dataclass(frozen=True)
class ImageIndex:
    """Images for several platforms under one index: what a multi-platform build produces."""

    images: tuple[PlatformImage, ...]
    serialized: IndexBytes

    @classmethod
    def of(cls, images: Sequence[PlatformImage],
           annotations: Mapping[str, str] | None = None) -> ImageIndex:
        """The index of ``images``, in their order: a Docker manifest list when every image is a
        Docker schema 2 manifest, else an OCI image index (a build never mixes the two), which
        carries ``annotations``."""
        docker = all(image.serialized.media_type == DOCKER_MANIFEST for image in images)
        return cls(tuple(images), serialize_index([image.entry() for image in images],
                                                  "docker" if docker else "oci", annotations))

    @property
    def digest(self) -> str:
        return self.serialized.digest
