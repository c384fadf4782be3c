"""GitLab CI's job credentials, as docker-credential-gitlabci (built into kaniko) answers: for the
registry ``$CI_REGISTRY`` names, ``$CI_REGISTRY_USER`` / ``$CI_REGISTRY_PASSWORD``.

As that helper does, the host names are compared without their ports, and a ``$CI_REGISTRY``
spelled ``http://...`` never matches (registries are https unless said otherwise).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar
from urllib.parse import urlsplit

from ..credentials import Credentials
from .base import BuiltinKeychain

__all__ = ["GitLabCredentials"]


@dataclass(frozen=True)
class GitLabCredentials(BuiltinKeychain):
    name: ClassVar[str] = "gitlab"

    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def serves(self, registry: str) -> bool:
        wanted = self.env.get("CI_REGISTRY")
        if not wanted:
            return False
        ours, theirs = _parse(registry), _parse(wanted)
        return bool(ours[1]) and ours == theirs

    def lookup(self, registry: str) -> Credentials | None:
        username = self.env.get("CI_REGISTRY_USER")
        password = self.env.get("CI_REGISTRY_PASSWORD")
        if username is None or password is None:
            return None
        return Credentials(username=username, password=password)


def _parse(text: str) -> tuple[str, str]:
    """``(scheme, host name)`` of a registry or URL, https when none is given."""
    url = text if text.startswith(("https://", "http://")) else f"https://{text}"
    try:
        parts = urlsplit(url)
        return parts.scheme, (parts.hostname or "")
    except ValueError:
        return "", ""
