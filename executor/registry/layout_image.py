"""An image read from a local OCI image layout (``--build-context NAME=oci-layout://PATH``):
``index.json`` names it by tag (the ``org.opencontainers.image.ref.name`` annotation, as buildx
looks it up) or by digest; an index in it is narrowed to the platform being built. Its layers
are the layout's blob files, read (and pushed) from there."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from executor.errors import BuildError
from executor.image import FileLayer, Image, Platform
from executor.image.media_types import MAX_CONFIG_SIZE

from .manifest import Descriptor, Manifest, ManifestIndex, parse_manifest

__all__ = ["load_layout_image"]

REF_NAME = "org.opencontainers.image.ref.name"
_MAX_MANIFEST = 4 << 20


def load_layout_image(layout: Path, tag: str, digest: str, platform: Platform) -> Image:
    where = f"OCI layout {layout}"
    index = _index(layout, where)
    entry = _entry(index, tag, digest, where)
    found = _manifest(layout, entry, where)
    while isinstance(found, ManifestIndex):
        found = _manifest(layout, found.select(platform, where), where)
    return _image(layout, found, where)


def _manifest(layout: Path, entry: Descriptor, where: str) -> Manifest | ManifestIndex:
    found = parse_manifest(_blob(layout, entry.digest, _MAX_MANIFEST, where), entry.media_type or None, where)
    if found.digest != entry.digest:
        raise BuildError(f"{where}: the blob {entry.digest} holds other bytes ({found.digest})")
    return found


def _index(layout: Path, where: str) -> ManifestIndex:
    raw = _read(layout / "index.json", _MAX_MANIFEST, where)
    try:
        document = json.loads(raw)
        entries = tuple(Descriptor.from_json(item, where) for item in document["manifests"])
    except (ValueError, KeyError, TypeError) as error:
        raise BuildError(f"{where}: index.json is malformed: {error}") from None
    return ManifestIndex(raw=raw, media_type="", digest="", manifests=entries)


def _entry(index: ManifestIndex, tag: str, digest: str, where: str) -> Descriptor:
    for entry in index.manifests:
        if (digest and entry.digest == digest) or (not digest and entry.annotations.get(REF_NAME) == tag):
            return entry
    if digest:  # a digest not in index.json may still name a blob (a platform's manifest)
        return Descriptor(media_type="", digest=digest, size=0)
    names = sorted(e.annotations[REF_NAME] for e in index.manifests if REF_NAME in e.annotations)
    raise BuildError(f"{where}: no image tagged {tag!r} (tags: {', '.join(names) or 'none'})")


def _image(layout: Path, manifest: Manifest, where: str) -> Image:
    raw = _blob(layout, manifest.config.digest, MAX_CONFIG_SIZE, where)
    # as the manifest: the bytes must be the digest's, so the image is the one the manifest names
    if "sha256:" + hashlib.sha256(raw).hexdigest() != manifest.config.digest:
        raise BuildError(f"{where}: the config blob {manifest.config.digest} holds other bytes")
    try:
        config = json.loads(raw)
        diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    except (ValueError, AttributeError) as error:
        raise BuildError(f"{where}: the config {manifest.config.digest} is malformed: {error}") from None
    if len(diff_ids) != len(manifest.layers):
        raise BuildError(f"{where}: its config lists {len(diff_ids)} diff ids for "
                         f"{len(manifest.layers)} layers")
    layers = tuple(FileLayer(path=_blob_path(layout, layer.digest, where), digest=layer.digest,
                             diff_id=diff_id, size=layer.size, media_type=layer.media_type)
                   for layer, diff_id in zip(manifest.layers, diff_ids))
    return Image(config=config, layers=layers)


def _blob_path(layout: Path, digest: str, where: str) -> Path:
    algorithm, _, hex_digest = digest.partition(":")
    if algorithm != "sha256" or len(hex_digest) != 64 or not all(c in "0123456789abcdef" for c in hex_digest):
        raise BuildError(f"{where}: unsupported digest {digest!r}")
    return layout / "blobs" / algorithm / hex_digest


def _blob(layout: Path, digest: str, limit: int, where: str) -> bytes:
    return _read(_blob_path(layout, digest, where), limit, where)


def _read(path: Path, limit: int, where: str) -> bytes:
    try:
        with open(path, "rb") as stream:
            data = stream.read(limit + 1)
    except OSError as error:
        raise BuildError(f"{where}: cannot read {path.name}: {error.strerror}") from None
    if len(data) > limit:
        raise BuildError(f"{where}: {path.name} is larger than {limit} bytes")
    return data
