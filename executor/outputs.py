"""Where a finished image goes: registries (all blobs first, then manifests), a tarball, files."""

from __future__ import annotations

import io
import json
import logging
import os
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from executor.build.registries import RegistryClients
from executor.image import Image, ManifestBytes, RemoteLayer
from executor.registry import ImageReference, parse_reference

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class PushTarget:
    reference: ImageReference

    @property
    def tag_or_digest(self) -> str:
        return self.reference.digest or self.reference.tag or "latest"


def push_image(image: Image, serialized: ManifestBytes, destinations: list[str],
               clients: RegistryClients) -> None:
    """Upload every blob to every destination, and only then put the manifests.

    A failure anywhere before the manifests leaves no manifest pointing at a missing blob.
    """
    targets = [PushTarget(parse_reference(d)) for d in destinations]
    for target in targets:
        ref = target.reference
        client = clients.for_push(ref.registry)
        for layer in image.layers:
            if client.blob_exists(ref.repository, layer.digest):
                log.debug("%s: layer %s already there", ref, layer.digest[:19])
                continue
            if (isinstance(layer, RemoteLayer) and layer.registry == ref.registry
                    and client.mount_blob(ref.repository, layer.digest, layer.repository)):
                log.info("%s: mounted layer %s from %s", ref, layer.digest[:19], layer.repository)
                continue
            log.info("%s: uploading layer %s (%d bytes)", ref, layer.digest[:19], layer.size)
            client.upload_blob(ref.repository, layer.digest, layer.size, layer.open)
        if not client.blob_exists(ref.repository, serialized.config_digest):
            config = serialized.config
            client.upload_blob(ref.repository, serialized.config_digest, len(config),
                               lambda: io.BytesIO(config))
    for target in targets:
        ref = target.reference
        clients.for_push(ref.registry).put_manifest(ref.repository, target.tag_or_digest,
                                                    serialized.manifest, serialized.media_type)
        log.info("pushed %s@%s", ref, serialized.digest)


def write_tarball(image: Image, serialized: ManifestBytes, path: Path, tags: list[str]) -> None:
    """A ``docker save``-style tarball; written to a temporary name and renamed when complete."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.partial-")
    try:
        with os.fdopen(fd, "wb") as out, tarfile.open(fileobj=out, mode="w|",
                                                         format=tarfile.PAX_FORMAT) as tar:
            config_name = serialized.config_digest.split(":", 1)[1] + ".json"
            _add_bytes(tar, config_name, serialized.config)
            layer_names = []
            for layer in image.layers:
                name = layer.digest.split(":", 1)[1] + ".tar.gz"
                info = tarfile.TarInfo(name)
                info.size = layer.size
                info.mode = 0o644
                with layer.open() as stream:
                    tar.addfile(info, stream)
                layer_names.append(name)
            manifest = [{"Config": config_name, "RepoTags": tags, "Layers": layer_names}]
            _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
        os.replace(temp_name, path)
    except BaseException:
        os.unlink(temp_name)
        raise
    log.info("wrote image tarball %s", path)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))


def write_text_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.partial")
    temp.write_text(text)
    os.replace(temp, path)


def tarball_tags(destinations: list[str]) -> list[str]:
    tags = []
    for destination in destinations:
        ref = parse_reference(destination)
        if ref.tag and not ref.digest:
            tags.append(f"{ref.registry}/{ref.repository}:{ref.tag}")
    return tags


__all__ = ["push_image", "write_tarball", "write_text_atomically", "tarball_tags"]
