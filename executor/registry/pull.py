"""The base of a stage: ``scratch`` (the empty image) or an image pulled from a registry, its
config and layers taken from the warmer's ``--cache-dir`` when an entry there is fresh."""

from __future__ import annotations

import contextlib
import functools
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import BinaryIO, Protocol

from executor.errors import BuildError
from executor.events import event
from executor.image import Image, ImageOrigin, Platform, RemoteLayer
from executor.image.media_types import MAX_CONFIG_SIZE

from .manifest import Manifest
from .reference import ImageReference, parse_reference
from .routing import PulledManifest, RegistryClients

LayerOpener = Callable[[], contextlib.AbstractContextManager[BinaryIO]]


class LocalImage(Protocol):
    """An image kept on disk (``--cache-dir``): its manifest, config bytes and layer openers."""

    @property
    def path(self) -> Path: ...

    @property
    def manifest(self) -> Manifest: ...

    @property
    def config(self) -> bytes: ...

    def layer_openers(self) -> list[LayerOpener]: ...


class LocalImages(Protocol):
    """Images on disk by manifest digest (the warmer's ``--cache-dir``); None is a miss."""

    def lookup(self, digest: str) -> LocalImage | None: ...

log = logging.getLogger("lamina")



def load_base_image(name: str, clients: RegistryClients,
                    cache: LocalImages | None = None,
                    platform: Platform | Sequence[str] | None = None) -> Image:
    """``platform`` (a stage's FROM --platform) selects from an index instead of the clients'
    platform (--custom-platform's, or the one being built)."""
    if name.lower() == "scratch":
        # --custom-platform names the platform of an image built from nothing
        wanted = Platform.of(platform if platform is not None else clients.options.platform)
        extra = {"variant": wanted.variant} if wanted.variant else {}
        return Image.empty().with_config_values(os=wanted.os, architecture=wanted.architecture, **extra)
    ref = parse_reference(name)
    if cache is not None and ref.digest:  # pinned: the cache can answer without the registry
        cached = cache.lookup(ref.digest)
        if cached is not None:
            return _cached_image(name, ref, cached)
    # --registry-map/--registry-mirror may route the pull elsewhere; layers then come from there
    pulled = clients.pull_manifest(ref, platform)
    ref, manifest = pulled.reference, pulled.manifest
    # a tag, or the digest of an index: the cache is keyed by the platform's manifest digest
    if cache is not None and manifest.digest != ref.digest:
        cached = cache.lookup(manifest.digest)
        if cached is not None:
            return _cached_image(name, ref, cached)
    return pull_image(name, pulled)[1]


def pull_image(name: str, pulled: PulledManifest) -> tuple[bytes, Image]:
    """The config (the registry's exact bytes) and the image, its layers streamed from the
    registry, of a manifest already pulled."""
    ref, client, manifest = pulled.reference, pulled.client, pulled.manifest
    config = client.get_blob_bytes(ref.repository, manifest.config.digest, MAX_CONFIG_SIZE)
    openers = [functools.partial(client.open_blob, ref.repository, layer.digest, layer.size)
               for layer in manifest.layers]
    return config, _image(name, ref, manifest, config, openers)


def _cached_image(name: str, ref: ImageReference, cached: LocalImage) -> Image:
    log.info("base image %s: config and layers from %s", name, cached.path)
    return _image(name, ref, cached.manifest, cached.config, cached.layer_openers())


def _image(name: str, ref: ImageReference, manifest: Manifest, config_bytes: bytes,
           openers: Sequence[LayerOpener]) -> Image:
    """The image ``manifest`` describes; its layers still live in ``ref``'s repository (pushes
    mount them from there) and are read through ``openers``."""
    config = json.loads(config_bytes)
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    if len(diff_ids) != len(manifest.layers):
        raise BuildError(f"base image {name}: its config lists {len(diff_ids)} diff ids for "
                         f"{len(manifest.layers)} layers")
    layers = tuple(
        RemoteLayer(registry=ref.registry, repository=ref.repository, digest=layer.digest,
                    diff_id=diff_id, size=layer.size, media_type=layer.media_type, opener=opener)
        for layer, diff_id, opener in zip(manifest.layers, diff_ids, openers))
    log.info("base image %s@%s: %d layers", name, manifest.digest, len(layers),
             extra=event("base.pulled", name=name, digest=manifest.digest, layers=len(layers)))
    return Image(config=config, layers=layers, origin=ImageOrigin(name, manifest.digest))
