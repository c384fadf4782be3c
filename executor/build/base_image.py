"""The base of a stage: ``scratch`` (the empty image) or an image pulled from a registry."""

from __future__ import annotations

import functools
import json
import logging

from executor.build.registries import RegistryClients
from executor.errors import BuildError
from executor.image import Image, RemoteLayer
from executor.registry import parse_reference

log = logging.getLogger("lamina")

MAX_CONFIG_SIZE = 8 * 1024 * 1024


def load_base_image(name: str, clients: RegistryClients) -> Image:
    if name.lower() == "scratch":
        # --custom-platform names the platform of an image built from nothing
        os_name, architecture, *variant = clients.options.platform
        extra = {"variant": variant[0]} if variant else {}
        return Image.empty().with_config_values(os=os_name, architecture=architecture, **extra)
    # --registry-map/--registry-mirror may route the pull elsewhere; layers then come from there
    pulled = clients.pull_manifest(parse_reference(name))
    ref, client, manifest = pulled.reference, pulled.client, pulled.manifest
    config = json.loads(client.get_blob_bytes(ref.repository, manifest.config.digest, MAX_CONFIG_SIZE))
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(manifest.layers):
        raise BuildError(f"base image {name}: its config lists {len(diff_ids)} diff ids for "
                         f"{len(manifest.layers)} layers")
    layers = tuple(
        RemoteLayer(registry=ref.registry, repository=ref.repository, digest=layer.digest,
                    diff_id=diff_id, size=layer.size, media_type=layer.media_type,
                    opener=functools.partial(client.open_blob, ref.repository, layer.digest))
        for layer, diff_id in zip(manifest.layers, diff_ids))
    log.info("base image %s@%s: %d layers", name, manifest.digest, len(layers))
    return Image(config=config, layers=layers)
