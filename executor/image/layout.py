"""OCI image layouts of one image (``oci-layout``, ``index.json``, ``blobs/sha256/...``), as
go-containerregistry's ``layout.Write``."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from executor.atomic import atomic_directory, atomic_file
from executor.image.media_types import OCI_INDEX
from executor.image.model import Image, ManifestBytes

__all__ = ["fill_oci_layout", "write_oci_layout"]

log = logging.getLogger("lamina")

OCI_LAYOUT_VERSION = {"imageLayoutVersion": "1.0.0"}
REF_NAME_ANNOTATION = "org.opencontainers.image.ref.name"


def write_oci_layout(image: Image, serialized: ManifestBytes, path: Path,
                     ref_names: list[str]) -> None:
    """A layout at ``path`` holding only this image: built aside and renamed over ``path`` when
    complete, so a previous layout there is replaced, never merged half-way."""
    with atomic_directory(path, replace=True) as temp:
        fill_oci_layout(temp, image, serialized, ref_names)
    log.info("wrote OCI layout %s", path)


def fill_oci_layout(directory: Path, image: Image, serialized: ManifestBytes,
                    ref_names: list[str]) -> None:
    """Write the image into the OCI layout at ``directory`` (empty, or a layout to update): its
    blobs, ``oci-layout``, then ``index.json`` naming only this image.

    Every file appears under its final name complete (written aside, then renamed), and the index
    last, so a reader of a layout being updated sees the old image or the new one, never a part.
    Blobs already there are left for such readers; nothing is deleted."""
    blobs_dir = directory / "blobs" / "sha256"
    blobs_dir.mkdir(parents=True, exist_ok=True)
    for layer in image.layers:
        with layer.open() as source, atomic_file(blobs_dir / _hex(layer.digest)) as out:
            shutil.copyfileobj(source, out, 1024 * 1024)
    for digest, data in ((serialized.config_digest, serialized.config),
                         (serialized.digest, serialized.manifest)):
        with atomic_file(blobs_dir / _hex(digest)) as out:
            out.write(data)
    descriptor = {"mediaType": serialized.media_type, "digest": serialized.digest,
                  "size": len(serialized.manifest)}
    manifests = [{**descriptor, "annotations": {REF_NAME_ANNOTATION: name}}
                 for name in ref_names] or [descriptor]
    index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests}
    with atomic_file(directory / "oci-layout") as out:
        out.write(json.dumps(OCI_LAYOUT_VERSION).encode())
    with atomic_file(directory / "index.json") as out:
        out.write(json.dumps(index).encode())


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]
