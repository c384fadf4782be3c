"""Parsing manifests and indexes from raw bytes (no I/O)."""

from __future__ import annotations

import json

import pytest

from executor.image.digest import sha256_digest
from executor.registry import (
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST_SCHEMA2,
    OCI_INDEX,
    OCI_MANIFEST,
    Descriptor,
    Manifest,
    ManifestIndex,
    Platform,
    PlatformNotFound,
    UnsupportedManifest,
    parse_manifest,
)

CONFIG = {"mediaType": "application/vnd.oci.image.config.v1+json",
          "digest": sha256_digest(b"c"), "size": 1}
LAYER = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
         "digest": sha256_digest(b"l"), "size": 1, "urls": ["https://x/l"]}


def _entry(arch: str, variant: str | None = None) -> dict:
    platform = {"os": "linux", "architecture": arch, **({"variant": variant} if variant else {})}
    return {"mediaType": OCI_MANIFEST, "digest": sha256_digest(arch.encode()), "size": 2,
            "platform": platform}


def test_image_manifest_media_type_from_header_field_or_shape() -> None:
    raw = json.dumps({"schemaVersion": 2, "config": CONFIG, "layers": [LAYER]}).encode()
    by_shape = parse_manifest(raw, None, "test")
    assert isinstance(by_shape, Manifest) and by_shape.media_type == OCI_MANIFEST
    assert by_shape.digest == sha256_digest(raw)
    assert by_shape.layers[0] == Descriptor(LAYER["mediaType"], LAYER["digest"], 1,
                                            urls=("https://x/l",))
    assert by_shape.layers[0].to_json() == LAYER
    by_header = parse_manifest(raw, DOCKER_MANIFEST_SCHEMA2 + "; charset=utf-8", "test")
    assert by_header.media_type == DOCKER_MANIFEST_SCHEMA2
    by_field = parse_manifest(json.dumps({"mediaType": DOCKER_MANIFEST_LIST, "manifests": []}
                                         ).encode(), "application/json", "test")
    assert isinstance(by_field, ManifestIndex) and by_field.media_type == DOCKER_MANIFEST_LIST


def test_index_platform_selection() -> None:
    raw = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": sha256_digest(b"attestation"), "size": 1},
        _entry("arm", "v7"), _entry("arm64", "v8"), _entry("amd64")]}).encode()
    index = parse_manifest(raw, OCI_INDEX, "test")
    assert isinstance(index, ManifestIndex)
    assert index.select(Platform("linux", "amd64"), "w").digest == sha256_digest(b"amd64")
    assert index.select(Platform("linux", "arm64"), "w").digest == sha256_digest(b"arm64")
    assert index.select(Platform.parse("linux/arm/v7"), "w").platform == Platform(
        "linux", "arm", "v7")
    with pytest.raises(PlatformNotFound) as caught:
        index.select(Platform.parse("linux/arm/v6"), "pull r/x:latest")
    assert str(caught.value) == ("pull r/x:latest: no image for platform linux/arm/v6 "
                                 "(available: linux/arm/v7, linux/arm64/v8, linux/amd64)")


@pytest.mark.parametrize("document, content_type, message", [
    ({"schemaVersion": 1, "name": "x", "fsLayers": []}, None, "schema 1 is not supported"),
    ({"schemaVersion": 1}, "application/vnd.docker.distribution.manifest.v1+prettyjws",
     "schema 1"),
    ({"schemaVersion": 2, "mediaType": "application/x-unknown"}, None, "'application/x-unknown'"),
    ({"schemaVersion": 2, "config": CONFIG, "layers": [{"digest": "x"}]}, OCI_MANIFEST,
     "malformed descriptor"),
    ([1, 2], None, "not a JSON object"),
])
def test_unsupported(document: object, content_type: str | None, message: str) -> None:
    with pytest.raises(UnsupportedManifest, match=message):
        parse_manifest(json.dumps(document).encode(), content_type, "pull r/x:1")


def test_not_json() -> None:
    with pytest.raises(UnsupportedManifest, match="pull r/x:1: manifest is not JSON"):
        parse_manifest(b"<html>", "text/html", "pull r/x:1")
