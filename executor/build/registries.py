"""One registry client per registry and direction, configured once from the options."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from executor.options import RegistryOptions
from executor.registry import DockerConfig, RegistryClient


@dataclass
class RegistryClients:
    options: RegistryOptions
    credentials: DockerConfig
    _clients: dict[tuple[str, str], RegistryClient] = field(default_factory=dict)

    @classmethod
    def create(cls, options: RegistryOptions, kaniko_dir: Path, env: Mapping[str, str]) -> RegistryClients:
        return cls(options=options, credentials=DockerConfig.load(kaniko_dir, env, Path.home()))

    def _client(self, registry: str, purpose: str, insecure: bool, skip_verify: bool) -> RegistryClient:
        key = (registry, purpose)
        if key not in self._clients:
            self._clients[key] = RegistryClient(registry, credentials=self.credentials, insecure=insecure,
                                                skip_tls_verify=skip_verify, retries=self.options.retries,
                                                push=purpose == "push")
        return self._clients[key]

    def for_pull(self, registry: str) -> RegistryClient:
        return self._client(registry, "pull", self.options.insecure_pull, self.options.skip_tls_verify_pull)

    def for_push(self, registry: str) -> RegistryClient:
        return self._client(registry, "push", self.options.insecure, self.options.skip_tls_verify)
