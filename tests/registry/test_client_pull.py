"""Pulling from a real docker-registry: manifests, configs, layers, and the errors on the way."""

from __future__ import annotations

import gzip
import hashlib
import json
import time

import pytest

from executor.image.digest import sha256_digest
from executor.registry import (
    DOCKER_MANIFEST_SCHEMA2,
    BlobNotFound,
    DigestMismatch,
    ManifestNotFound,
    RegistryClient,
    RegistryError,
    RegistryUnreachable,
    RetryPolicy,
)
from tests.registry.images import Blob, skopeo_raw
from tests.support.registry import RunningRegistry, free_port


@pytest.fixture
def client(registry: RunningRegistry) -> RegistryClient:
    with RegistryClient(registry.host, retry=RetryPolicy.uniform(1)) as c:
        yield c


def test_ping_anonymous_http_registry(client: RegistryClient, registry: RunningRegistry) -> None:
    assert client.ping() is None  # anonymous: no challenge
    # a loopback registry may be plain HTTP: https was tried first, http answered
    assert client.base_url == f"http://{registry.host}"


def test_pull_busybox(client: RegistryClient, registry: RunningRegistry,
                      busybox_image: str) -> None:
    manifest = client.get_manifest("busybox", "latest")
    assert manifest.media_type == DOCKER_MANIFEST_SCHEMA2
    assert manifest.raw == skopeo_raw(registry, busybox_image)
    assert manifest.digest == sha256_digest(manifest.raw)
    assert len(manifest.layers) == 2
    assert client.get_manifest("busybox", manifest.digest) == manifest

    config = json.loads(client.get_blob_bytes("busybox", manifest.config.digest, 1 << 20))
    assert config["architecture"] == "amd64"
    for layer, diff_id in zip(manifest.layers, config["rootfs"]["diff_ids"]):
        with client.open_blob("busybox", layer.digest, layer.size) as stream:
            # the stream is verified as it is read; check the uncompressed tar too
            uncompressed = hashlib.sha256()
            with gzip.GzipFile(fileobj=stream) as tar:
                while chunk := tar.read(1 << 16):
                    uncompressed.update(chunk)
        assert f"sha256:{uncompressed.hexdigest()}" == diff_id


def test_blob_exists(client: RegistryClient, busybox_image: str) -> None:
    manifest = client.get_manifest("busybox", "latest")
    assert client.blob_exists("busybox", manifest.layers[0].digest)
    assert not client.blob_exists("busybox", sha256_digest(b"never pushed"))


@pytest.mark.parametrize("repository, reference", [("busybox", "no-such-tag"),
                                                   ("no/such/repository", "latest")])
def test_missing_manifest(client: RegistryClient, registry: RunningRegistry, busybox_image: str,
                          repository: str, reference: str) -> None:
    with pytest.raises(ManifestNotFound) as caught:
        client.get_manifest(repository, reference)
    error = caught.value
    assert error.status == 404
    assert set(error.codes) & {"MANIFEST_UNKNOWN", "NAME_UNKNOWN"}
    line = str(error)
    assert "\n" not in line
    assert line.startswith(f"pull {registry.host}/{repository}:{reference}: 404 ")
    assert f"(GET http://{registry.host}/v2/{repository}/manifests/{reference})" in line


def test_missing_blob(client: RegistryClient, busybox_image: str) -> None:
    with pytest.raises(BlobNotFound, match="404 BLOB_UNKNOWN"):
        with client.open_blob("busybox", sha256_digest(b"never pushed")):
            pass


def _corrupt(registry: RunningRegistry, blob: Blob, data: bytes) -> None:
    hexdigest = blob.digest.split(":")[1]
    path = registry.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"
    path.write_bytes(data)


def test_corrupted_blob_raises_digest_mismatch(client: RegistryClient,
                                               registry: RunningRegistry) -> None:
    repository = "lamina-registry-tests/corrupted"
    blob = Blob(b"the true content " * 1000 + str(time.time_ns()).encode())
    client.upload_blob(repository, blob.digest, blob.size, blob.opener)
    _corrupt(registry, blob, blob.data[::-1])  # same size, other bytes

    with client.open_blob(repository, blob.digest, blob.size) as stream:
        with pytest.raises(DigestMismatch) as caught:
            stream.read()
    assert f"digest mismatch for {blob.digest}" in str(caught.value)
    assert sha256_digest(blob.data[::-1]) in str(caught.value)
    # leaving the block without reading still verifies
    with pytest.raises(DigestMismatch):
        with client.open_blob(repository, blob.digest):
            pass
    with pytest.raises(DigestMismatch):
        client.get_blob_bytes(repository, blob.digest, 1 << 20)

    _corrupt(registry, blob, blob.data[:-10])  # truncated
    with pytest.raises(DigestMismatch, match=f"{blob.size - 10} bytes, expected {blob.size}"):
        with client.open_blob(repository, blob.digest, blob.size) as stream:
            stream.read()


def test_get_blob_bytes_refuses_big_blobs(client: RegistryClient, busybox_image: str) -> None:
    manifest = client.get_manifest("busybox", "latest")
    with pytest.raises(RegistryError, match="larger than 100 bytes"):
        client.get_blob_bytes("busybox", manifest.layers[0].digest, 100)


def test_closed_port_is_unreachable_quickly() -> None:
    host = f"127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(RegistryUnreachable) as caught:
        RegistryClient(host, retry=RetryPolicy.uniform(1)).get_manifest("a", "latest")
    assert time.monotonic() - started < 5
    line = str(caught.value)
    assert f"https://{host}/v2/" in line and f"http://{host}/v2/" in line
    assert "Connection refused" in line and "\n" not in line


def test_non_loopback_registry_is_https_only() -> None:
    # 127.0.0.2 is loopback too; use a name that is not, on a port nothing listens on
    client = RegistryClient(f"lamina-no-such-host.invalid:{free_port()}", retry=RetryPolicy.uniform(0))
    with pytest.raises(RegistryUnreachable) as caught:
        client.ping()
    assert "https://lamina-no-such-host.invalid" in str(caught.value)
    assert "http://lamina" not in str(caught.value)

