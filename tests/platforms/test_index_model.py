"""Image indexes as values: what ``serialize_index`` writes and refuses."""

from __future__ import annotations

import json

import pytest

from executor.image import IndexEntry, Platform, serialize_index
from executor.image.media_types import DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_INDEX

AMD64 = IndexEntry(Platform("linux", "amd64"), DOCKER_MANIFEST, "sha256:" + "a" * 64, 10)
ARMV7 = IndexEntry(Platform("linux", "arm", "v7"), DOCKER_MANIFEST, "sha256:" + "b" * 64, 20)


def test_a_manifest_list_and_an_oci_index_name_their_entries_in_order() -> None:
    listed = serialize_index([ARMV7, AMD64], "docker")
    assert listed.media_type == DOCKER_MANIFEST_LIST
    assert json.loads(listed.manifest) == {
        "schemaVersion": 2, "mediaType": DOCKER_MANIFEST_LIST, "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": ARMV7.digest, "size": 20,
             "platform": {"architecture": "arm", "os": "linux", "variant": "v7"}},
            {"mediaType": DOCKER_MANIFEST, "digest": AMD64.digest, "size": 10,
             "platform": {"architecture": "amd64", "os": "linux"}}]}
    oci = serialize_index([AMD64, ARMV7], "oci", {"b": "2", "a": "1"})
    document = json.loads(oci.manifest)
    assert document["mediaType"] == OCI_INDEX and list(document["annotations"]) == ["a", "b"]
    assert oci.digest.startswith("sha256:") and oci.digest != listed.digest


def test_an_index_refuses_a_platform_twice_and_annotations_on_a_manifest_list() -> None:
    with pytest.raises(ValueError, match="linux/amd64 comes more than once"):
        serialize_index([AMD64, AMD64])
    with pytest.raises(ValueError, match="no annotations"):
        serialize_index([AMD64, ARMV7], "docker", {"a": "1"})
