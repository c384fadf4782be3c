"""Registries for the client tests: one with TLS and Basic auth, one behind a JWT token server."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.registry.servers import TokenServer, serve
from tests.support.registry import RunningRegistry, run_registry

TOKEN_SERVICE = "lamina-test-registry"


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """docker-registry over TLS (throwaway CA) with htpasswd Basic auth for u/p."""
    with run_registry(tmp_path_factory.mktemp("auth-registry"), tls=True, username="u",
                      password="p") as running:
        yield running


@pytest.fixture(scope="module")
def token_registry(tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[tuple[RunningRegistry, TokenServer]]:
    """docker-registry with `token` auth, trusting a token server run here (u/p may push,
    anonymous may pull, identity token "refresh-me" is u)."""
    workdir = tmp_path_factory.mktemp("token-registry")
    tokens = TokenServer(workdir / "keys", users={"u": "p"}, refresh_tokens={"refresh-me": "u"})
    with serve(tokens.handle) as token_host:
        auth = tokens.registry_auth(f"http://{token_host}/token", TOKEN_SERVICE)
        with run_registry(workdir / "registry", extra_auth=auth) as running:
            yield running, tokens


def write_docker_config(directory: Path, auths: dict[str, dict]) -> dict[str, str]:
    """Write ``directory/config.json``; returns the env mapping that points DOCKER_CONFIG at it."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text(json.dumps({"auths": auths}))
    return {"DOCKER_CONFIG": str(directory)}


def basic_entry(username: str, password: str) -> dict[str, str]:
    return {"auth": base64.b64encode(f"{username}:{password}".encode()).decode()}
