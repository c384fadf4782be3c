"""Which credentials to send to a registry, in kaniko's order: docker's config.json (its credential
helpers first), then the built-in keychains ``--credential-helpers`` selects.

As go-containerregistry's multi-keychain does, the first source with credentials wins and a source
that fails stops the lookup (with a one-line error naming the registry and the source). A helper
config.json names that is not installed (``docker-credential-ecr-login``, ``-acr-env``, ``-gcr``:
the kaniko image ships them, lamina's needs none) is answered by its built-in twin.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from executor.options import CREDENTIAL_HELPERS

from .credentials import Credentials, CredentialSource, DockerConfig
from .helpers import CredentialHelper
from .keychains import (
    ACRCredentials,
    BuiltinKeychain,
    ECRCredentials,
    EnvCredentials,
    GitLabCredentials,
    GoogleCredentials,
)

__all__ = ["ChainedCredentials", "DockerKeychain", "builtin_keychains",
           "default_keychain", "select_keychains"]

_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DockerKeychain:
    """docker's lookup order: ``credHelpers[registry]``, else ``credsStore``, running
    ``docker-credential-<name>``; then the inline ``auths`` entry.

    ``stand_ins`` maps helper names to built-in keychains answering when that helper is not on
    ``path``: for a host ``credHelpers`` names it for, whatever the host; for ``credsStore``
    (every registry), only for the registries the keychain serves.
    """

    config: DockerConfig
    path: str | None = None  # $PATH to find helpers on (None: the process's)
    stand_ins: Mapping[str, BuiltinKeychain] = field(default_factory=dict)

    def credentials_for(self, registry: str) -> Credentials | None:
        explicit = self.config.cred_helpers.get(registry)
        name = explicit or self.config.creds_store
        if name:
            found = self._from_helper(name, registry, named_for_host=explicit is not None)
            if found is not None:
                return found
        return self.config.credentials_for(registry)

    def _from_helper(self, name: str, registry: str, *, named_for_host: bool) -> Credentials | None:
        helper = CredentialHelper(name, path=self.path)
        stand_in = self.stand_ins.get(name)
        if stand_in is None or helper.installed:
            return helper.get(registry)
        _log.debug("%s is not installed: the built-in %s keychain answers for %s",
                   helper.executable, stand_in.name, registry)
        return stand_in.get(registry) if named_for_host else stand_in.credentials_for(registry)


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


def builtin_keychains(env: Mapping[str, str]) -> dict[str, BuiltinKeychain]:
    """One of each built-in keychain, by its ``--credential-helpers`` name. AWS and Google
    credentials are found by boto3 and google-auth (the process environment, their files, the
    metadata servers); everything else is read from ``env``."""
    keychains: list[BuiltinKeychain] = [EnvCredentials(env), GoogleCredentials(), ECRCredentials(env),
                                        ACRCredentials(env), GitLabCredentials(env)]
    return {keychain.name: keychain for keychain in keychains}


def select_keychains(names: Sequence[str]) -> tuple[str, ...]:
    """``--credential-helpers`` values as the fork reads them, in their order: an empty value
    selects nothing (``--credential-helpers=`` alone turns the built-ins off) and an unknown
    name is skipped with a warning. (The flag not given at all is all of
    :data:`~executor.options.CREDENTIAL_HELPERS`: the CLI's default.)"""
    selected: list[str] = []
    for name in names:
        if name == "":
            continue
        if name not in CREDENTIAL_HELPERS:
            _log.warning("unknown credential helper %r, skipping it (known: %s)", name,
                         ", ".join(CREDENTIAL_HELPERS))
        elif name not in selected:
            selected.append(name)
    return tuple(selected)


def default_keychain(kaniko_dir: Path, env: Mapping[str, str], home: Path,
                     credential_helpers: Sequence[str] = CREDENTIAL_HELPERS) -> ChainedCredentials:
    """docker config.json (found as kaniko finds it), then the built-in keychains
    ``credential_helpers`` names (``RegistryOptions.credential_helpers``), in that order. A
    helper named in config.json but not installed is answered by its built-in twin whatever the
    selection, as the kaniko image's bundled helper binaries would be run."""
    config = DockerConfig.load(kaniko_dir, env, home)
    keychains = builtin_keychains(env)
    stand_ins = {helper: keychain for keychain in keychains.values()
                 for helper in keychain.helper_names}
    selected = select_keychains(credential_helpers)
    _log.debug("credentials by priority: docker config %s, then %s",
               config.path or "(none found)", ", ".join(selected) or "no built-in keychain")
    return ChainedCredentials((DockerKeychain(config, path=env.get("PATH"), stand_ins=stand_ins),
                               *(keychains[name] for name in selected)))
