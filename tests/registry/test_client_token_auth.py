"""docker-registry with `token` auth: Bearer tokens (JWTs) issued by a token server run here."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from executor.registry import (
    AuthenticationError,
    Credentials,
    DockerConfig,
    RegistryClient,
    RetryPolicy,
    StaticCredentials,
)
from tests.registry.conftest import TOKEN_SERVICE, write_docker_config
from tests.registry.images import tiny_image
from tests.registry.servers import TokenServer
from tests.support.registry import RunningRegistry

TokenRegistry = tuple[RunningRegistry, TokenServer]


def _push(client: RegistryClient, repository: str) -> bytes:
    image = tiny_image(repository)
    for blob in (image.layer, image.config):
        if not client.blob_exists(repository, blob.digest):
            client.upload_blob(repository, blob.digest, blob.size, blob.opener)
    client.put_manifest(repository, "v1", image.manifest, image.media_type)
    return image.manifest


def test_push_with_credentials_then_pull_anonymously(token_registry: TokenRegistry) -> None:
    registry, tokens = token_registry
    repository = f"lamina/token-{time.time_ns()}"
    credentials = StaticCredentials({registry.host: Credentials("u", "p")})
    before = len(tokens.requests)
    with RegistryClient(registry.host, credentials=credentials, retry=RetryPolicy.uniform(0),
                        push=True) as client:
        challenge = client.ping()
        assert challenge is not None and challenge.scheme == "bearer"
        assert challenge.service == TOKEN_SERVICE
        manifest = _push(client, repository)
    issued = tokens.requests[before:]
    # push=True: one token, asked with Basic credentials, covers every request of the push
    assert [(r["subject"], r["query"]["scope"], r["query"]["service"]) for r in issued] == [
        ("u", [f"repository:{repository}:pull,push"], [TOKEN_SERVICE])]

    with RegistryClient(registry.host, retry=RetryPolicy.uniform(0)) as anonymous:
        assert anonymous.get_manifest(repository, "v1").raw == manifest
        with pytest.raises(AuthenticationError) as caught:
            _push(anonymous, repository + "-denied")
    assert caught.value.status == 401
    assert "UNAUTHORIZED" in caught.value.codes
    assert caught.value.method == "POST" and "/blobs/uploads/" in (caught.value.url or "")


def test_reads_then_writes_fetch_pull_then_push_tokens(token_registry: TokenRegistry) -> None:
    registry, tokens = token_registry
    repository = f"lamina/scopes-{time.time_ns()}"
    before = len(tokens.requests)
    with RegistryClient(registry.host, credentials=StaticCredentials(
            {registry.host: Credentials("u", "p")}), retry=RetryPolicy.uniform(0)) as client:
        _push(client, repository)
        client.get_manifest(repository, "v1")  # covered by the cached pull,push token
    scopes = [r["query"]["scope"] for r in tokens.requests[before:]]
    assert scopes == [[f"repository:{repository}:pull"], [f"repository:{repository}:pull,push"]]


def test_identity_token_from_config(token_registry: TokenRegistry, tmp_path: Path) -> None:
    registry, tokens = token_registry
    env = write_docker_config(tmp_path / "dc", {registry.host: {"identitytoken": "refresh-me"}})
    config = DockerConfig.load(tmp_path / "kaniko", env, tmp_path)
    with RegistryClient(registry.host, credentials=config, retry=RetryPolicy.uniform(0), push=True) as client:
        _push(client, f"lamina/identity-{time.time_ns()}")
    assert tokens.requests[-1]["method"] == "POST" and tokens.requests[-1]["subject"] == "u"


def test_wrong_password_at_the_token_server(token_registry: TokenRegistry) -> None:
    registry, _ = token_registry
    client = RegistryClient(registry.host, credentials=StaticCredentials(
        {registry.host: Credentials("u", "wrong")}), retry=RetryPolicy.uniform(0))
    with pytest.raises(AuthenticationError) as caught:
        client.get_manifest("lamina/whatever", "latest")
    line = str(caught.value)
    assert "token server refused: 401 UNAUTHORIZED: bad login" in line
    assert f"check credentials for {registry.host}" in line
    assert "wrong" not in line
