"""OCI image layouts of one image or of one image index (``oci-layout``, ``index.json``,
``blobs/sha256/...``), as go-containerregistry's ``layout.Write``."""

from __future__ import annotations

import io
import json
import logging
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from executor.atomic import atomic_directory, atomic_file
from executor.image.index import ImageIndex
from executor.image.media_types import OCI_INDEX
from executor.image.model import Image, ManifestBytes

__all__ = ["LayoutFile", "fill_oci_layout", "index_layout_files", "write_index_layout",
           "write_oci_layout"]

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


@dataclass(frozen=True)
class LayoutFile:
    """A file of an OCI layout: its path inside the layout, its size, and how to read it."""

    name: str
    size: int
    opener: Callable[[], BinaryIO]


def index_layout_files(index: ImageIndex, ref_names: list[str]) -> Iterator[LayoutFile]:
    """The files of an OCI layout holding ``index``: ``oci-layout``; every blob once (layers the
    images share, their configs and manifests, the index itself); then ``index.json``, whose
    entries name the index (one per ref name), as BuildKit's OCI exporter writes it. The same
    files go into a directory (``write_index_layout``) or a tar (``tarball.write_index_archive``)."""
    yield _bytes_file("oci-layout", json.dumps(OCI_LAYOUT_VERSION).encode())
    seen: set[str] = set()
    for child in index.images:
        for layer in child.image.layers:
            if layer.digest not in seen:
                seen.add(layer.digest)
                yield LayoutFile(f"blobs/sha256/{_hex(layer.digest)}", layer.size, layer.open)
        serialized = child.serialized
        for digest, data in ((serialized.config_digest, serialized.config),
                             (serialized.digest, serialized.manifest)):
            if digest not in seen:
                seen.add(digest)
                yield _bytes_file(f"blobs/sha256/{_hex(digest)}", data)
    yield _bytes_file(f"blobs/sha256/{_hex(index.digest)}", index.serialized.manifest)
    descriptor = {"mediaType": index.serialized.media_type, "digest": index.digest,
                  "size": len(index.serialized.manifest)}
    manifests = [{**descriptor, "annotations": {REF_NAME_ANNOTATION: name}}
                 for name in ref_names] or [descriptor]
    yield _bytes_file("index.json", json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX,
                                                "manifests": manifests}).encode())


def write_index_layout(index: ImageIndex, path: Path, ref_names: list[str]) -> None:
    """A layout at ``path`` holding only this index and its images; built aside and renamed
    over ``path`` when complete, as ``write_oci_layout``."""
    with atomic_directory(path, replace=True) as temp:
        for file in index_layout_files(index, ref_names):
            with file.opener() as source, atomic_file(temp / file.name) as out:
                shutil.copyfileobj(source, out, 1024 * 1024)
    log.info("wrote OCI layout %s (an index of %d images)", path, len(index.images))


def _bytes_file(name: str, data: bytes) -> LayoutFile:
    return LayoutFile(name, len(data), lambda: io.BytesIO(data))


def _hex(digest: str) -> str:
    return digest.split(":", 1)[1]
