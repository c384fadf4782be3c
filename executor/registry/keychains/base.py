"""What a built-in keychain is: kaniko's ``--credential-helpers`` sources, with no helper binary.

A keychain implements two methods, :meth:`~BuiltinKeychain.serves` (the registries it answers for
when chained, e.g. ``*.dkr.ecr.*.amazonaws.com``) and :meth:`~BuiltinKeychain.lookup` (the
credentials for one registry, raising :class:`KeychainFailure` with the reason); the base derives
``credentials_for`` (a :class:`~executor.registry.credentials.CredentialSource`) and ``get`` (what
the docker credential helper it stands in for would answer for any host a docker config names it
for), and turns a failure into one line naming the registry and the keychain.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from ..credentials import Credentials
from ..errors import CredentialsError

__all__ = ["BuiltinKeychain", "KeychainFailure", "hostname"]


class KeychainFailure(Exception):
    """Why a keychain could not get credentials; never carries a secret."""

    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.hint = hint


class BuiltinKeychain(ABC):
    """One built-in credential source, named as kaniko's ``--credential-helpers`` names it."""

    name: ClassVar[str]
    # docker-credential-<name> helpers this keychain answers for when config.json names one
    # that is not installed (the kaniko image ships them; lamina's image needs none)
    helper_names: ClassVar[frozenset[str]] = frozenset()

    @abstractmethod
    def serves(self, registry: str) -> bool:
        """Whether, chained after docker's config, this keychain answers for ``registry``."""

    @abstractmethod
    def lookup(self, registry: str) -> Credentials | None:
        """Credentials for ``registry``; None when this keychain has nothing configured (then the
        next source, or anonymous access, is tried). Raises :class:`KeychainFailure`."""

    def credentials_for(self, registry: str) -> Credentials | None:
        return self.get(registry) if self.serves(registry) else None

    def get(self, registry: str) -> Credentials | None:
        """:meth:`lookup`, whatever the host, a failure becoming a one-line CredentialsError."""
        try:
            return self.lookup(registry)
        except KeychainFailure as failure:
            raise CredentialsError(f"{self.name} keychain: {failure}",
                                   action=f"get credentials for {registry}",
                                   hint=failure.hint) from None


def hostname(registry: str) -> str:
    """``host[:port]`` -> ``host``, lower-case (``[::1]:5000`` -> ``::1``)."""
    host = registry
    if host.startswith("["):
        host = host[1:host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    return host.lower()
