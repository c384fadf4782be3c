"""Cached layers in a registry repository, each stored as a one-layer image tagged by its key
(kaniko's layout of a cache repository). Tags and blobs are content-addressed, so builders sharing
the repository can only ever write the same bytes under the same name."""

from __future__ import annotations

import datetime
import functools
import io
import json
import logging
from dataclasses import dataclass
from typing import Callable

from executor.image import Image, Layer, RemoteLayer, serialize
from executor.registry import ImageReference, Manifest, NotFoundError, RegistryClient

log = logging.getLogger("lamina")
MAX_CONFIG_SIZE = 1024 * 1024


@dataclass
class RegistryLayerCache:
    repository: ImageReference  # registry/repository; tags are keys
    client: RegistryClient
    ttl_seconds: float
    writable: bool
    now: Callable[[], datetime.datetime]

    def lookup(self, key: str) -> Layer | None:
        repo = self.repository.repository
        try:
            found = self.client.fetch_manifest(repo, key)
        except NotFoundError:
            return None
        if not isinstance(found, Manifest) or len(found.layers) != 1:
            return None
        config = json.loads(self.client.get_blob_bytes(repo, found.config.digest, MAX_CONFIG_SIZE))
        created = _parse_time(config.get("created"))
        if created is None or (self.now() - created).total_seconds() > self.ttl_seconds:
            log.info("cache entry %s expired (created %s)", key[:12], config.get("created"))
            return None
        layer = found.layers[0]
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
        if len(diff_ids) != 1:
            return None
        return RemoteLayer(registry=self.repository.registry, repository=repo,
                           digest=layer.digest, diff_id=diff_ids[0], size=layer.size,
                           media_type=layer.media_type,
                           opener=functools.partial(self.client.open_blob, repo, layer.digest,
                                                    layer.size))

    def store(self, key: str, layer: Layer) -> None:
        if not self.writable:
            return
        from executor.outputs import Blob, push_blobs  # outputs depends on build: import late

        image = Image(config={"architecture": "amd64", "os": "linux",
                              "created": self.now().strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                              "rootfs": {"type": "layers", "diff_ids": [layer.diff_id]},
                              "history": [{"created_by": f"lamina cache {key}"}]},
                      layers=(layer,))
        serialized = serialize(image)
        repo = self.repository.repository
        config = serialized.config
        source = (layer.registry, layer.repository) if isinstance(layer, RemoteLayer) else None
        blobs = [Blob(layer.digest, layer.size, layer.open, source),
                 Blob(serialized.config_digest, len(config), lambda: io.BytesIO(config))]
        push_blobs(blobs, [self.repository], _SingleClient(self.client))
        self.client.put_manifest(repo, key, serialized.manifest, serialized.media_type)
        log.info("cached layer %s as %s:%s", layer.digest[:19], self.repository.context_name,
                 key[:12])


@dataclass(frozen=True)
class _SingleClient:
    """What push_blobs needs from RegistryClients, for the one cache client."""

    client: RegistryClient

    def for_push(self, registry: str) -> RegistryClient:
        return self.client


def _parse_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.timezone.utc)
