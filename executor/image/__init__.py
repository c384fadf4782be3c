"""Images as values (``model``), indexes of one image per platform (``index``), their media types
and digests, and writers that each take one image or one index: ``tarball`` (``docker save``
format; an OCI archive for an index) and ``layout`` (OCI image layout). The registry
writer lives with the registry client (``executor.registry.push``), as go-containerregistry's
``remote.Write`` lives in ``remote``."""

from __future__ import annotations

from executor.image.digest import DigestCheckingReader, sha256_digest
from executor.image.index import ImageIndex, IndexBytes, IndexEntry, PlatformImage, serialize_index
from executor.image.media_types import DOCKER_LAYER_GZIP, OCI_LAYER_GZIP, OCI_LAYER_ZSTD
from executor.image.model import (
    DEFAULT_PATH,
    FileLayer,
    Image,
    ImageOrigin,
    Layer,
    ManifestBytes,
    RemoteLayer,
    serialize,
)
from executor.image.platform import Platform

__all__ = ["DEFAULT_PATH", "DOCKER_LAYER_GZIP", "DigestCheckingReader", "FileLayer", "Image", "ImageOrigin",
           "ImageIndex", "IndexBytes", "IndexEntry", "Layer", "ManifestBytes", "OCI_LAYER_GZIP",
           "OCI_LAYER_ZSTD", "Platform", "PlatformImage", "RemoteLayer", "serialize",
           "serialize_index", "sha256_digest"]
