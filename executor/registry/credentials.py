"""Credentials for registries, read from docker's ``config.json`` the way kaniko finds it."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from .errors import CredentialsError
from .reference import DOCKER_HUB

# Docker keys Docker Hub credentials by its v1 index URL; accept the other spellings too.
_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io",
                    "registry-1.docker.io")
IDENTITY_TOKEN_USERNAME = "<token>"  # what docker writes as username next to an identity token


@dataclass(frozen=True)
class Credentials:
    """A username and secret for one registry. ``repr`` never shows the secret."""

    username: str
    password: str = field(repr=False)
    # An OAuth2 refresh token (docker's "identitytoken"); the bearer flow exchanges it for tokens.
    identity_token: str | None = field(default=None, repr=False)


class CredentialSource(Protocol):
    """Anything that can answer "what credentials for this registry host?" (``host[:port]``)."""

    def credentials_for(self, registry: str) -> Credentials | None: ...


@dataclass(frozen=True)
class StaticCredentials:
    """Fixed credentials for named registries (for the CLI and for tests)."""

    by_registry: Mapping[str, Credentials]

    def credentials_for(self, registry: str) -> Credentials | None:
        return self.by_registry.get(registry)


@dataclass(frozen=True)
class DockerConfig:
    """The ``auths`` of one docker config.json (or none). Implements CredentialSource.

    ``credsStore``/``credHelpers`` are kept so a helper-backed CredentialSource can be chained in
    front later; this class only answers from ``auths``.
    """

    path: Path | None = None
    auths: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, repr=False)
    creds_store: str | None = None
    cred_helpers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, kaniko_dir: Path, env: Mapping[str, str], home: Path) -> DockerConfig:
        """The first existing of ``$DOCKER_CONFIG/config.json`` (or ``$DOCKER_CONFIG`` if it is a
        file), ``<kaniko_dir>/.docker/config.json``, ``<home>/.docker/config.json``."""
        for candidate in config_locations(kaniko_dir, env, home):
            if candidate.is_file():
                return cls.from_file(candidate)
        return cls()

    @classmethod
    def from_file(cls, path: Path) -> DockerConfig:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as e:
            raise CredentialsError(f"cannot read docker config {path}: {e}") from e
        if not isinstance(document, dict):
            raise CredentialsError(f"docker config {path} is not a JSON object")
        auths = document.get("auths") or {}
        helpers = document.get("credHelpers") or {}
        if not isinstance(auths, dict) or not isinstance(helpers, dict):
            raise CredentialsError(f"docker config {path}: 'auths'/'credHelpers' must be objects")
        return cls(path=path, auths=auths, creds_store=document.get("credsStore") or None,
                   cred_helpers=helpers)

    def helper_for(self, registry: str) -> str | None:
        """The credential helper docker would ask for ``registry`` (not run by this class)."""
        return self.cred_helpers.get(registry) or self.creds_store

    def credentials_for(self, registry: str) -> Credentials | None:
        key = self._find_key(registry)
        if key is None:
            return None
        entry = self.auths[key]
        if not isinstance(entry, dict):
            raise CredentialsError(f"docker config {self.path}: entry {key!r} is not an object")
        username, password = entry.get("username") or "", entry.get("password") or ""
        if entry.get("auth"):
            username, password = _decode_auth(entry["auth"], key, self.path)
        identity_token = entry.get("identitytoken") or None
        if identity_token:
            return Credentials(username=username or IDENTITY_TOKEN_USERNAME,
                               password=password or identity_token, identity_token=identity_token)
        if not username and not password:
            return None
        return Credentials(username=username, password=password)

    def _find_key(self, registry: str) -> str | None:
        if registry in self.auths:
            return registry
        wanted = {registry} if registry != DOCKER_HUB else {normalize_auth_key(k)
                                                              for k in _DOCKER_HUB_KEYS}
        for key in self.auths:
            if normalize_auth_key(key) in wanted:
                return key
        return None


def config_locations(kaniko_dir: Path, env: Mapping[str, str], home: Path) -> list[Path]:
    """Where kaniko looks for config.json, in order."""
    found: list[Path] = []
    docker_config = env.get("DOCKER_CONFIG")
    if docker_config:
        path = Path(docker_config)
        found.append(path if path.is_file() else path / "config.json")
    found.append(kaniko_dir / ".docker" / "config.json")
    found.append(home / ".docker" / "config.json")
    return found


def normalize_auth_key(key: str) -> str:
    """``https://host:5000/v1/`` -> ``host:5000``; Docker Hub spellings -> ``index.docker.io``."""
    host = key
    for scheme in ("https://", "http://"):
        if host.lower().startswith(scheme):
            host = host[len(scheme):]
    host = host.split("/", 1)[0].lower()
    return DOCKER_HUB if host in {"docker.io", "index.docker.io", "registry-1.docker.io"} else host


def _decode_auth(value: str, key: str, path: Path | None) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(value, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    username, sep, password = decoded.partition(":")
    if not sep:
        # never echo the value: it is a secret
        raise CredentialsError(
            f"docker config {path}: 'auth' of {key!r} is not base64 of 'username:password'")
    return username, password
