"""Cached layers in a registry repository, each stored as a one-layer image tagged by its key
(kaniko's layout of a cache repository), or as an image with no layer for a step that changed no
files. Blobs are content-addressed and a tag is put only after its blobs, so builders sharing the
repository never leave a tag naming a missing blob; the last to put a tag wins, and either is
valid."""

from __future__ import annotations

import datetime
import functools
import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from executor.cache.entry import CachedStep, entry_diff_ids, entry_expired, entry_image
from executor.image import Layer, RemoteLayer, serialize
from executor.registry import ImageReference, Manifest, NotFoundError, RegistryClient
from executor.registry.push import Blob, push_blobs

log = logging.getLogger("lamina")
MAX_ENTRY_CONFIG_SIZE = 1024 * 1024  # entries are configs this cache wrote: small


@dataclass
class RegistryLayerCache:
    repository: ImageReference  # registry/repository; tags are keys
    client: RegistryClient
    ttl_seconds: float
    writable: bool
    now: Callable[[], datetime.datetime]

    def lookup(self, key: str) -> CachedStep | None:
        repo = self.repository.repository
        try:
            found = self.client.fetch_manifest(repo, key)
        except NotFoundError:
            return None
        if not isinstance(found, Manifest) or len(found.layers) > 1:
            return None
        try:
            config = json.loads(self.client.get_blob_bytes(repo, found.config.digest,
                                                           MAX_ENTRY_CONFIG_SIZE))
        except ValueError:
            config = None
        if not isinstance(config, dict):  # not an entry this cache wrote: a miss
            log.warning("cache entry %s has no JSON object for a config; not used", key[:12])
            return None
        if entry_expired(config, self.ttl_seconds, self.now()):
            log.info("cache entry %s expired (created %s)", key[:12], config.get("created"))
            return None
        diff_ids = entry_diff_ids(config, len(found.layers))
        if diff_ids is None:
            return None
        if not found.layers:
            return CachedStep(None)
        layer = found.layers[0]
        return CachedStep(RemoteLayer(
            registry=self.repository.registry, repository=repo, digest=layer.digest,
            diff_id=diff_ids[0], size=layer.size, media_type=layer.media_type,
            opener=functools.partial(self.client.open_blob, repo, layer.digest, layer.size)))

    def store(self, key: str, layer: Layer | None) -> None:
        if not self.writable:
            return
        serialized = serialize(entry_image(key, layer, self.now()))
        repo = self.repository.repository
        config = serialized.config
        blobs = [Blob(serialized.config_digest, len(config), lambda: io.BytesIO(config))]
        if layer is not None:
            blobs.insert(0, Blob(layer.digest, layer.size, layer.open, layer.mount_source))
        push_blobs(blobs, [self.repository], _SingleClient(self.client))
        self.client.put_manifest(repo, key, serialized.manifest, serialized.media_type)
        log.info("cached %s as %s:%s",
                 f"layer {layer.digest[:19]}" if layer else "a step that changed no files",
                 self.repository.context_name, key[:12])


@dataclass(frozen=True)
class _SingleClient:
    """What push_blobs needs from RegistryClients, for the one cache client."""

    client: RegistryClient

    def for_push(self, registry: str) -> RegistryClient:
        return self.client

