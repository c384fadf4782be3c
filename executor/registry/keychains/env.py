"""Credentials in ``KANIKO_<HOST>_USER`` / ``KANIKO_<HOST>_PASSWORD`` variables, as the
osscontainertools kaniko's ``env`` credential helper reads them.

``<HOST>`` is the registry upper-cased with ``-`` as ``_``, its dots as ``_``, tried from the full
name down to its last label: ``my-reg.example.com`` tries ``KANIKO_MY_REG_EXAMPLE_COM_*``, then
``KANIKO_EXAMPLE_COM_*``, then ``KANIKO_COM_*``. A port stays as it is (``127_0_0_1:5000``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from ..credentials import Credentials
from .base import BuiltinKeychain

__all__ = ["EnvCredentials", "variable_names"]


def variable_names(registry: str) -> list[tuple[str, str]]:
    """The (user, password) variable pairs tried for ``registry``, most specific first."""
    labels = registry.replace("-", "_").upper().split(".")
    stems = ["_".join(labels[i:]) for i in range(len(labels))]
    return [(f"KANIKO_{stem}_USER", f"KANIKO_{stem}_PASSWORD") for stem in stems]


@dataclass(frozen=True)
class EnvCredentials(BuiltinKeychain):
    name: ClassVar[str] = "env"

    env: Mapping[str, str] = field(default_factory=dict, repr=False)

    def serves(self, registry: str) -> bool:
        return True  # any registry may have its variables

    def lookup(self, registry: str) -> Credentials | None:
        for user, password in variable_names(registry):
            if user in self.env and password in self.env:
                return Credentials(username=self.env[user], password=self.env[password])
        return None
