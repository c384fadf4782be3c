"""Every media type lamina reads or writes, in one place (OCI image spec, Docker schema2)."""

from __future__ import annotations

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_MANIFEST_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST_SCHEMA1 = "application/vnd.docker.distribution.manifest.v1+json"
DOCKER_MANIFEST_SCHEMA1_SIGNED = "application/vnd.docker.distribution.manifest.v1+prettyjws"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER_GZIP = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_LAYER_ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
OCI_LAYER_TAR = "application/vnd.oci.image.layer.v1.tar"
DOCKER_LAYER_TAR = "application/vnd.docker.image.rootfs.diff.tar"

# The largest manifest and config documents read (a hostile registry must not make us buffer more).
MAX_MANIFEST_SIZE = 8 * 1024 * 1024
MAX_CONFIG_SIZE = 8 * 1024 * 1024

# The same bytes under the other format's name, so a manifest never mixes Docker and OCI types.
TO_DOCKER = {OCI_LAYER_GZIP: DOCKER_LAYER_GZIP, OCI_LAYER_TAR: DOCKER_LAYER_TAR}
TO_OCI = {v: k for k, v in TO_DOCKER.items()}
