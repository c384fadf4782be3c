"""``docker save``-style tarballs of one image (``docker load``, ``podman load`` and skopeo read
them), as go-containerregistry's ``tarball.Write``; and, since that format has no room for an
index, OCI archives of an image index (an OCI layout in a tar, as BuildKit's ``type=oci`` output:
``skopeo copy --all oci-archive:PATH ...``, ``podman load``). Written aside and renamed into
place."""

from __future__ import annotations

import io
import json
import logging
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from executor.atomic import atomic_file
from executor.image.index import ImageIndex
from executor.image.layout import index_layout_files
from executor.image.model import Image, ManifestBytes

__all__ = ["write_index_archive", "write_tarball"]

log = logging.getLogger("lamina")


def write_tarball(image: Image, serialized: ManifestBytes, path: Path, tags: list[str]) -> None:
    """The image's config, layer blobs as they are stored, and ``manifest.json`` naming ``tags``."""
    with atomic_file(path, durable=True) as out, tarfile.open(fileobj=out, mode="w|",
                                                              format=tarfile.PAX_FORMAT) as tar:
        config_name = serialized.config_digest.split(":", 1)[1] + ".json"
        _add_bytes(tar, config_name, serialized.config)
        layer_names = []
        for layer in image.layers:
            name = layer.digest.split(":", 1)[1] + ".tar.gz"
            _add_stream(tar, name, layer.size, layer.open)
            layer_names.append(name)
        manifest = [{"Config": config_name, "RepoTags": tags, "Layers": layer_names}]
        _add_bytes(tar, "manifest.json", json.dumps(manifest).encode())
    log.info("wrote image tarball %s", path)


def write_index_archive(index: ImageIndex, path: Path, ref_names: list[str]) -> None:
    """The OCI layout of ``index`` (``layout.index_layout_files``) as one uncompressed tar."""
    with atomic_file(path, durable=True) as out, tarfile.open(fileobj=out, mode="w|",
                                                              format=tarfile.PAX_FORMAT) as tar:
        for file in index_layout_files(index, ref_names):
            _add_stream(tar, file.name, file.size, file.opener)
    log.info("wrote OCI archive %s (an index of %d images)", path, len(index.images))


def _add_stream(tar: tarfile.TarFile, name: str, size: int,
                opener: Callable[[], BinaryIO]) -> None:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mode = 0o644
    with opener() as stream:
        tar.addfile(info, stream)


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    _add_stream(tar, name, len(data), lambda: io.BytesIO(data))
