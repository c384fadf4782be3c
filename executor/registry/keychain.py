"""Which credentials to send to a registry: docker's config (helpers first), then cloud keychains."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .credentials import Credentials, CredentialSource, DockerConfig
from .google import GoogleCredentials
from .helpers import CredentialHelper


@dataclass(frozen=True)
class DockerKeychain:
    """docker's lookup order: ``credHelpers[registry]``, else ``credsStore``, running
    ``docker-credential-<name>``; then the inline ``auths`` entry."""

    config: DockerConfig
    path: str | None = None  # $PATH to find helpers on (None: the process's)

    def credentials_for(self, registry: str) -> Credentials | None:
        helper = self.config.helper_for(registry)
        if helper:
            found = CredentialHelper(helper, path=self.path).get(registry)
            if found is not None:
                return found
        return self.config.credentials_for(registry)


@dataclass(frozen=True)
class ChainedCredentials:
    """The first source that has credentials for the registry wins (kaniko's multi-keychain)."""

    sources: tuple[CredentialSource, ...]

    def credentials_for(self, registry: str) -> Credentials | None:
        for source in self.sources:
            found = source.credentials_for(registry)
            if found is not None:
                return found
        return None


def default_keychain(kaniko_dir: Path, env: Mapping[str, str], home: Path) -> ChainedCredentials:
    """docker config.json (found as kaniko finds it), then Google ADC for GCR/Artifact Registry."""
    config = DockerConfig.load(kaniko_dir, env, home)
    return ChainedCredentials((DockerKeychain(config, path=env.get("PATH")), GoogleCredentials()))


__all__ = ["ChainedCredentials", "DockerKeychain", "default_keychain"]
