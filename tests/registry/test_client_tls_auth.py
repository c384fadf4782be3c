"""A TLS registry (throwaway CA) with htpasswd Basic auth; credentials come from config.json."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from executor.registry import (
    AuthenticationError,
    DockerConfig,
    RegistryClient,
    RetryPolicy,
    TLSVerificationFailed,
)
from tests.registry.conftest import basic_entry, write_docker_config
from tests.registry.images import skopeo_raw, tiny_image
from tests.support.registry import RunningRegistry


def _config(tmp_path: Path, registry: RunningRegistry, password: str) -> DockerConfig:
    env = write_docker_config(tmp_path / "docker-config",
                              {f"https://{registry.host}/v1/": basic_entry("u", password)})
    return DockerConfig.load(tmp_path / "kaniko", env, tmp_path / "home")


def test_push_and_pull_with_basic_credentials(auth_registry: RunningRegistry,
                                              tmp_path: Path) -> None:
    assert auth_registry.tls is not None
    repository = f"lamina/basic-{time.time_ns()}"
    image = tiny_image(repository)
    with RegistryClient(auth_registry.host, credentials=_config(tmp_path, auth_registry, "p"),
                        ca_bundle=auth_registry.tls.ca_cert, retry=RetryPolicy.uniform(0)) as client:
        challenge = client.ping()
        assert challenge is not None and challenge.scheme == "basic"
        assert client.base_url == f"https://{auth_registry.host}"
        for blob in (image.layer, image.config):
            client.upload_blob(repository, blob.digest, blob.size, blob.opener)
        client.put_manifest(repository, "v1", image.manifest, image.media_type)
        assert client.get_manifest(repository, "v1").raw == image.manifest
        assert client.get_blob_bytes(repository, image.config.digest, 1 << 16) == image.config.data
    ref = auth_registry.ref(repository, "v1")
    assert skopeo_raw(auth_registry, ref) == image.manifest


def test_wrong_password(auth_registry: RunningRegistry, tmp_path: Path) -> None:
    assert auth_registry.tls is not None
    client = RegistryClient(auth_registry.host, credentials=_config(tmp_path, auth_registry, "wr0ng-pw"),
                            ca_bundle=auth_registry.tls.ca_cert, retry=RetryPolicy.uniform(0))
    with pytest.raises(AuthenticationError) as caught:
        client.get_manifest("lamina/anything", "latest")
    error = caught.value
    assert error.status == 401 and "UNAUTHORIZED" in error.codes
    line = str(error)
    assert line.startswith(f"pull {auth_registry.host}/lamina/anything:latest: 401 UNAUTHORIZED: "
                           "authentication required")
    assert f"check credentials for {auth_registry.host}" in line
    assert "\n" not in line and "wr0ng-pw" not in line  # the password never shows


def test_no_credentials(auth_registry: RunningRegistry) -> None:
    assert auth_registry.tls is not None
    client = RegistryClient(auth_registry.host, ca_bundle=auth_registry.tls.ca_cert,
                            retry=RetryPolicy.uniform(0))
    with pytest.raises(AuthenticationError, match=f"401 UNAUTHORIZED.*no credentials configured "
                                                  f"for {auth_registry.host}"):
        client.blob_exists("lamina/anything", "sha256:" + "0" * 64)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_skip_tls_verify(auth_registry: RunningRegistry, tmp_path: Path) -> None:
    client = RegistryClient(auth_registry.host, credentials=_config(tmp_path, auth_registry, "p"),
                            skip_tls_verify=True, retry=RetryPolicy.uniform(0))
    assert client.base_url == f"https://{auth_registry.host}"
    assert not client.blob_exists("lamina/anything", "sha256:" + "0" * 64)


def test_unknown_ca_is_a_clear_tls_error(auth_registry: RunningRegistry, tmp_path: Path) -> None:
    client = RegistryClient(auth_registry.host, credentials=_config(tmp_path, auth_registry, "p"),
                            retry=RetryPolicy.uniform(0))
    with pytest.raises(TLSVerificationFailed) as caught:
        client.get_manifest("lamina/anything", "latest")
    line = str(caught.value)
    assert line.startswith(f"ping {auth_registry.host}: TLS handshake failed: ")
    assert "certificate verify failed" in line
    assert f"https://{auth_registry.host}/v2/" in line
    assert "--skip-tls-verify" in line and "\n" not in line


def test_missing_ca_bundle(tmp_path: Path) -> None:
    with pytest.raises(TLSVerificationFailed, match="cannot load CA bundle"):
        RegistryClient("127.0.0.1:1", ca_bundle=tmp_path / "nope.crt")
