"""Images as values (``model``), their media types and digests, and writers that each take one
image: ``tarball`` (``docker save`` format) and ``layout`` (OCI image layout). The registry
writer lives with the registry client (``executor.registry.push``), as go-containerregistry's
``remote.Write`` lives in ``remote``."""

from __future__ import annotations

from executor.image.digest import DigestCheckingReader, sha256_digest
from executor.image.media_types import DOCKER_LAYER_GZIP, OCI_LAYER_GZIP, OCI_LAYER_ZSTD
from executor.image.model import DEFAULT_PATH, FileLayer, Image, Layer, ManifestBytes, RemoteLayer, serialize

__all__ = ["DEFAULT_PATH", "DOCKER_LAYER_GZIP", "DigestCheckingReader", "FileLayer", "Image",
           "Layer", "ManifestBytes", "OCI_LAYER_GZIP", "OCI_LAYER_ZSTD", "RemoteLayer",
           "serialize", "sha256_digest"]
