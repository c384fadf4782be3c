"""Pushing to a real docker-registry, then reading back with skopeo (an independent client)."""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.image.digest import sha256_digest
from executor.registry import (
    OCI_INDEX,
    DigestMismatch,
    Manifest,
    ManifestIndex,
    Platform,
    PlatformNotFound,
    RegistryClient,
    RegistryError,
    RetryPolicy,
)
from tests.registry.images import TinyImage, skopeo_raw, tiny_image, write_file
from tests.registry.servers import FlakyProxy, serve
from tests.support.registry import RunningRegistry


@pytest.fixture
def client(registry: RunningRegistry) -> Iterator[RegistryClient]:
    with RegistryClient(registry.host, retry=RetryPolicy.uniform(1), push=True) as c:
        yield c


def _unique(name: str) -> str:
    return f"lamina-registry-tests/{name}-{time.time_ns()}"


def push(client: RegistryClient, repository: str, tag: str, image: TinyImage) -> str:
    for blob in (image.layer, image.config):
        if not client.blob_exists(repository, blob.digest):
            client.upload_blob(repository, blob.digest, blob.size, blob.opener)
    return client.put_manifest(repository, tag, image.manifest, image.media_type)


def test_upload_and_put_manifest_read_back_with_skopeo(client: RegistryClient,
                                                       registry: RunningRegistry,
                                                       tmp_path: Path) -> None:
    repository = _unique("pushed")
    image = tiny_image(repository)
    assert not client.blob_exists(repository, image.layer.digest)
    # upload from a file opener, as a layer spooled to disk would be
    layer_file = write_file(tmp_path / "layer.tar.gz", image.layer.data)
    opened: list[int] = []

    def opener():  # type: ignore[no-untyped-def]
        opened.append(1)
        return open(layer_file, "rb")

    client.upload_blob(repository, image.layer.digest, image.layer.size, opener)
    assert opened == [1]
    assert client.blob_exists(repository, image.layer.digest)
    client.upload_blob(repository, image.config.digest, image.config.size, image.config.opener)
    digest = client.put_manifest(repository, "v1", image.manifest, image.media_type)
    assert digest == image.digest

    ref = registry.ref(repository, "v1")
    assert skopeo_raw(registry, ref) == image.manifest
    assert skopeo_raw(registry, ref, config=True) == image.config.data
    pulled = client.get_manifest(repository, "v1")
    assert (pulled.raw, pulled.digest) == (image.manifest, image.digest)
    with client.open_blob(repository, image.layer.digest, image.layer.size) as stream:
        assert stream.read() == image.layer.data


def test_empty_blob_upload(client: RegistryClient) -> None:
    repository = _unique("empty")
    client.upload_blob(repository, sha256_digest(b""), 0, lambda: pytest.fail("not opened"))
    assert client.get_blob_bytes(repository, sha256_digest(b""), 10) == b""


def test_mount_blob(client: RegistryClient) -> None:
    source, target = _unique("mount-from"), _unique("mount-to")
    image = tiny_image(source)
    push(client, source, "latest", image)
    assert not client.blob_exists(target, image.layer.digest)
    assert client.mount_blob(target, image.layer.digest, source) is True
    assert client.blob_exists(target, image.layer.digest)
    # a blob the source does not have: the registry opens an upload instead; we cancel it
    assert client.mount_blob(target, sha256_digest(b"absent"), source) is False


def test_index_selects_the_platform(client: RegistryClient, registry: RunningRegistry) -> None:
    repository = _unique("multi")
    amd64 = tiny_image(repository + "amd64", "amd64")
    arm64 = tiny_image(repository + "arm64", "arm64", "v8")
    push(client, repository, "amd64", amd64)
    push(client, repository, "arm64", arm64)
    index = json.dumps({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": [
        {"mediaType": arm64.media_type, "digest": arm64.digest, "size": len(arm64.manifest),
         "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"mediaType": amd64.media_type, "digest": amd64.digest, "size": len(amd64.manifest),
         "platform": {"os": "linux", "architecture": "amd64"}},
    ]}).encode()
    assert client.put_manifest(repository, "latest", index, OCI_INDEX) == sha256_digest(index)

    ref = registry.ref(repository, "latest")
    assert skopeo_raw(registry, ref) == index
    assert skopeo_raw(registry, ref, config=True, arch="arm64") == arm64.config.data
    fetched = client.fetch_manifest(repository, "latest")
    assert isinstance(fetched, ManifestIndex) and fetched.raw == index
    chosen = client.get_manifest(repository, "latest")
    assert isinstance(chosen, Manifest) and chosen.raw == amd64.manifest
    assert client.get_manifest(repository, "latest", ("linux", "arm64")).raw == arm64.manifest
    assert client.get_manifest(repository, "latest",
                               Platform.parse("linux/arm64/v8")).digest == arm64.digest
    with pytest.raises(PlatformNotFound) as caught:
        client.get_manifest(repository, "latest", ("linux", "s390x"))
    assert "no image for platform linux/s390x (available: linux/arm64/v8, linux/amd64)" in str(
        caught.value)


def test_manifest_fetched_by_digest_is_verified(client: RegistryClient,
                                                registry: RunningRegistry) -> None:
    repository = _unique("tampered")
    image = tiny_image(repository)
    push(client, repository, "v1", image)
    hexdigest = image.digest.split(":")[1]
    stored = registry.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest
    # still valid JSON, other bytes
    (stored / "data").write_bytes(image.manifest.replace(b'"schemaVersion": 2',
                                                         b'"schemaVersion":   2'))
    with pytest.raises(DigestMismatch, match=f"asked for {image.digest}"):
        client.get_manifest(repository, image.digest)


@pytest.mark.parametrize("faults", [["drop"], ["stale"], ["drop", "stale"]])
def test_upload_survives_a_failed_put(registry: RunningRegistry, faults: list[str]) -> None:
    """A dropped PUT is retried by the session (the body reopened from the opener); a registry
    that lost the upload session makes the client restart POST+PUT."""
    proxy = FlakyProxy(registry.host, faults=list(faults))
    repository = _unique("flaky")
    image = tiny_image(repository)
    opened: list[int] = []

    def opener():  # type: ignore[no-untyped-def]
        opened.append(1)
        return image.layer.opener()

    with serve(proxy.handle) as host, RegistryClient(host, retry=RetryPolicy.uniform(2)) as client:
        client.upload_blob(repository, image.layer.digest, image.layer.size, opener)
        assert client.get_blob_bytes(repository, image.layer.digest, 1 << 20) == image.layer.data
    assert len(opened) == len(faults) + 1
    posts = [s for s in proxy.seen if s.startswith("POST")]
    assert len(posts) == 1 + faults.count("stale")


def test_relative_upload_location(registry: RunningRegistry) -> None:
    proxy = FlakyProxy(registry.host, relative_locations=True)
    repository = _unique("relative")
    image = tiny_image(repository)
    with serve(proxy.handle) as host, RegistryClient(host, retry=RetryPolicy.uniform(0)) as client:
        client.upload_blob(repository, image.layer.digest, image.layer.size, image.layer.opener)
    assert any(s.startswith("PUT /v2/") for s in proxy.seen)
    with RegistryClient(registry.host) as direct:
        assert direct.blob_exists(repository, image.layer.digest)


def test_short_opener_is_an_error_not_a_hang(client: RegistryClient) -> None:
    repository = _unique("short")
    image = tiny_image(repository)
    with pytest.raises(RegistryError, match=f"blob source ended after {image.layer.size - 1} "
                                            f"of {image.layer.size} bytes"):
        client.upload_blob(repository, image.layer.digest, image.layer.size,
                           lambda: io.BytesIO(image.layer.data[:-1]))
    assert not client.blob_exists(repository, image.layer.digest)
