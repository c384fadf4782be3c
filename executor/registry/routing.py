"""One registry client per registry and direction, configured once from the options, and where
pulls are routed (``--registry-map`` / ``--registry-mirror``, falling back to the original)."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from executor.options import RegistryOptions
from executor.registry import (
    CredentialSource,
    ImageReference,
    Manifest,
    NotFoundError,
    Platform,
    RegistryClient,
    RegistryError,
    RegistryUnreachable,
    RetryPolicy,
    parse_reference,
)
from executor.registry.keychain import default_keychain

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class PulledManifest:
    """Where an image was found (a mirror's reference when a mirror had it) and its manifest."""

    reference: ImageReference
    client: RegistryClient
    manifest: Manifest


@dataclass
class RegistryClients:
    options: RegistryOptions
    credentials: CredentialSource
    _clients: dict[tuple[str, str], RegistryClient] = field(default_factory=dict)

    @classmethod
    def create(cls, options: RegistryOptions, kaniko_dir: Path, env: Mapping[str, str]) -> RegistryClients:
        keychain = default_keychain(kaniko_dir, env, Path.home(), options.credential_helpers)
        return cls(options=options, credentials=keychain)

    def _client(self, registry: str, purpose: str) -> RegistryClient:
        key = (registry, purpose)
        if key not in self._clients:
            opts = self.options
            pull = purpose == "pull"
            self._clients[key] = RegistryClient(
                registry, credentials=self.credentials,
                insecure=(opts.insecure_pull if pull else opts.insecure)
                or registry in opts.insecure_registries,
                skip_tls_verify=(opts.skip_tls_verify_pull if pull else opts.skip_tls_verify)
                or registry in opts.skip_tls_verify_registries,
                ca_bundle=opts.certificates.get(registry),
                client_cert=opts.client_certificates.get(registry),
                # --retries for each request, restart and resume; --image-download-retry
                # (pulls) or --push-retry (pushes) adds to each
                retry=RetryPolicy.uniform(opts.retries).plus(
                    opts.image_download_retry if pull else opts.push_retry),
                push=not pull)
        return self._clients[key]

    def for_platform(self, platform: Sequence[str]) -> RegistryClients:
        """The same clients (sessions, tokens, credentials), pulling ``platform``'s images from
        an index: each platform of a multi-platform build in turn."""
        return replace(self, options=replace(self.options, platform=tuple(platform)))

    def for_pull(self, registry: str) -> RegistryClient:
        return self._client(registry, "pull")

    def for_push(self, registry: str) -> RegistryClient:
        return self._client(registry, "push")

    def pull_candidates(self, ref: ImageReference) -> list[ImageReference]:
        """The mapped/mirrored references to try, in order, then ``ref`` itself unless
        --skip-default-registry-fallback. A mirror ``host/prefix`` puts the repository under
        ``prefix``."""
        candidates = []
        for target in self.options.registry_maps.get(ref.registry, ()):
            host, _, prefix = target.partition("/")
            repository = f"{prefix}/{ref.repository}" if prefix else ref.repository
            suffix = f"@{ref.digest}" if ref.digest else f":{ref.tag}"
            candidates.append(parse_reference(f"{host}/{repository}{suffix}"))
        if not candidates or not self.options.skip_default_registry_fallback:
            candidates.append(ref)
        return candidates

    def pull_manifest(self, ref: ImageReference,
                      platform: Platform | Sequence[str] | None = None) -> PulledManifest:
        """The image manifest for ``platform`` (default the configured one), from the first
        candidate that has it. A mirror that lacks the image or cannot be reached is skipped; the
        last failure is raised when none has it."""
        wanted = Platform.of(platform if platform is not None else self.options.platform)
        candidates = self.pull_candidates(ref)
        failure: RegistryError | None = None
        for candidate in candidates:
            client = self.for_pull(candidate.registry)
            try:
                manifest = client.get_manifest(candidate.repository, candidate.identifier, wanted)
            except (NotFoundError, RegistryUnreachable) as error:
                if candidate is not candidates[-1]:
                    log.info("%s not available from %s (%s); trying the next registry",
                             ref, candidate.registry, type(error).__name__)
                failure = error
                continue
            if candidate is not ref:
                log.info("pulling %s from %s", ref, candidate)
            return PulledManifest(candidate, client, manifest)
        assert failure is not None
        raise failure
