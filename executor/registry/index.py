"""An image index of images already in registries (``executor index``), as ``docker buildx
imagetools create``: the last step of a multi-platform build scaled out to one build per
architecture. Each source's manifest and config are read and every blob checked before anything is
written; the index's platforms come from the configs and must differ. Then, at each destination,
the blobs (mounted within a registry), each image's manifest by digest, and the index at the tag."""

from __future__ import annotations

import functools
import io
import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from executor.errors import UsageError
from executor.image import IndexBytes, IndexEntry, Platform, RemoteLayer, serialize_index
from executor.image.media_types import DOCKER_MANIFEST, MAX_CONFIG_SIZE

from .client import RegistryClient
from .errors import BlobNotFound
from .manifest import Manifest, ManifestIndex
from .push import Blob, PushClients, push_blobs, put_tagged_manifest
from .reference import ImageReference, parse_reference

__all__ = ["SourceImage", "assemble_index", "push_assembled_index", "read_source"]

log = logging.getLogger("lamina")


class PullClients(PushClients, Protocol):
    """Where sources are read from (``RegistryClients``)."""

    def for_pull(self, registry: str) -> RegistryClient: ...


@dataclass(frozen=True)
class SourceImage:
    """One image the index names: where it is, its manifest as stored, its config's platform."""

    given: str  # the reference as given (for messages)
    ref: ImageReference
    client: RegistryClient
    manifest: Manifest
    config: bytes
    platform: Platform

    def entry(self) -> IndexEntry:
        return IndexEntry(self.platform, self.manifest.media_type, self.manifest.digest,
                          len(self.manifest.raw))

    def blobs(self) -> list[Blob]:
        """Its layers and config, each read from where it is (for a destination elsewhere)."""
        ref, client, config = self.ref, self.client, self.config
        diff_ids = (json.loads(config).get("rootfs") or {}).get("diff_ids") or []
        layers = [RemoteLayer(registry=ref.registry, repository=ref.repository, digest=layer.digest,
                              diff_id=diff_ids[number] if number < len(diff_ids) else "",
                              size=layer.size, media_type=layer.media_type,
                              opener=functools.partial(client.open_blob, ref.repository,
                                                       layer.digest, layer.size))
                  for number, layer in enumerate(self.manifest.layers)]
        blobs = [Blob(layer.digest, layer.size, layer.open, layer.mount_source) for layer in layers]
        blobs.append(Blob(self.manifest.config.digest, len(config), lambda: io.BytesIO(config),
                          (ref.registry, ref.repository)))
        return blobs


def read_source(given: str, clients: PullClients) -> SourceImage:
    """The image at ``given`` (a tag or digest of one image, not of an index), its config's
    platform, and proof that its blobs are there."""
    ref = parse_reference(given)
    client = clients.for_pull(ref.registry)
    found = client.fetch_manifest(ref.repository, ref.identifier)
    if isinstance(found, ManifestIndex):
        raise UsageError(f"--from {given} is an index ({len(found.manifests)} images), not one "
                         "image: name each platform's image (its tag, or the index entry's digest)")
    config = client.get_blob_bytes(ref.repository, found.config.digest, MAX_CONFIG_SIZE)
    try:
        platform = Platform.of_config(json.loads(config))
    except (ValueError, AttributeError):
        raise UsageError(f"--from {given}: its config {found.config.digest} is not a JSON object") from None
    if not platform.os or not platform.architecture:
        raise UsageError(f"--from {given}: its config names no os and architecture, so the index "
                         "could not say which platform it is for")
    for layer in found.layers:
        if layer.urls:
            continue  # a foreign layer lives at its URLs, not in the registry
        if not client.blob_exists(ref.repository, layer.digest):
            raise BlobNotFound(f"--from {given}: layer {layer.digest} is missing from "
                               f"{ref.registry}/{ref.repository}; push that image again")
    log.info("%s: the %s image %s (%d layers)", given, platform, found.digest, len(found.layers))
    return SourceImage(given, ref, client, found, config, platform)


def assemble_index(sources: Sequence[SourceImage],
                   annotations: Mapping[str, str] | None = None) -> IndexBytes:
    """The index naming ``sources`` in order: a Docker manifest list when they all are Docker
    schema 2 images and there are no annotations (a manifest list has no such field), else an
    OCI image index."""
    seen: dict[Platform, SourceImage] = {}
    for source in sources:
        if source.platform in seen:
            raise UsageError(f"--from {seen[source.platform].given} and --from {source.given} are "
                             f"both {source.platform} images: an index holds one image per platform")
        seen[source.platform] = source
    docker = not annotations and all(s.manifest.media_type == DOCKER_MANIFEST for s in sources)
    return serialize_index([source.entry() for source in sources], "docker" if docker else "oci",
                           annotations)


def push_assembled_index(index: IndexBytes, sources: Sequence[SourceImage],
                         destinations: Sequence[str], clients: PushClients) -> None:
    """At each destination: the sources' blobs, each source's manifest by its digest, then the
    index at the destination's tag."""
    targets = [parse_reference(d) for d in destinations]
    blobs: dict[str, Blob] = {}
    for source in sources:
        for blob in source.blobs():
            blobs.setdefault(blob.digest, blob)
    push_blobs(list(blobs.values()), targets, clients)
    for ref in targets:
        client = clients.for_push(ref.registry)
        for source in sources:
            if ref.registry != source.ref.registry or ref.repository != source.ref.repository:
                client.put_manifest(ref.repository, source.manifest.digest, source.manifest.raw,
                                    source.manifest.media_type)
        put_tagged_manifest(ref, index.manifest, index.media_type, clients)
