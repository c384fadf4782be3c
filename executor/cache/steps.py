"""The build loop's view of the layer cache: a key for every step, and for cacheable steps
(RUN; COPY/ADD with --cache-copy-layers) what an earlier run of it did, to use instead of running
it: the layer it added, or the fact that it changed no files."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from executor.registry.routing import RegistryClients
from executor.cache.entry import CachedStep
from executor.cache.key import base_key, context_files, step_key
from executor.cache.layout_store import LayoutLayerCache
from executor.cache.store import RegistryLayerCache
from executor.errors import UsageError
from executor.image import Image, Layer, sha256_digest
from executor.options import CacheOptions
from executor.registry import RegistryError, parse_reference

log = logging.getLogger("lamina")


class LayerCache(Protocol):
    """Where cached steps live (a registry repository, a local OCI layout directory). ``store``
    with ``None`` records a step that changed no files. Neither raises for an entry that is
    missing, expired or unusable: that is a miss."""

    def lookup(self, key: str) -> CachedStep | None: ...

    def store(self, key: str, layer: Layer | None) -> None: ...


@dataclass
class StepCache:
    layers: LayerCache
    options: CacheOptions

    def base(self, image: Image) -> str:
        """The chain's first parent: the digest of the base image's config (which names every
        base layer by diff id)."""
        import json
        config = json.dumps(image.config, sort_keys=True, separators=(",", ":")).encode()
        return base_key(sha256_digest(config))

    def key(self, parent: str, command: Any, ctx: Any) -> str:
        """The key of ``command`` run in ``ctx`` (call before executing it)."""
        instruction = command.instruction
        files = None
        if self._reads_context(command):
            sources, _dest = command.arguments(ctx)
            files = context_files(ctx.files, sources)
        state = ctx.state
        return step_key(parent,
                        {"keyword": instruction.keyword, "original": instruction.original,
                         "flags": {k: list(v) for k, v in instruction.flags.items()}},
                        state.run_config,
                        # the declared ARGs with their --build-arg values: an undeclared
                        # --build-arg changes nothing in the build, so not the key either
                        {"args": state.arg_values()},
                        files)

    def cacheable(self, command: Any) -> bool:
        keyword = command.instruction.keyword.upper()
        if keyword == "RUN":
            return self.options.run_layers
        if keyword in ("COPY", "ADD"):
            return self.options.copy_layers and self._reads_context(command)
        return False

    def lookup(self, key: str) -> CachedStep | None:
        try:
            found = self.layers.lookup(key)
        except (RegistryError, OSError) as error:
            # a cache that cannot answer is a miss, not a failure
            log.warning("cache lookup failed, running the step: %s", error)
            return None
        if found is None:
            log.info("cache miss for key %s", key[:12])
        else:
            log.info("cache hit for key %s%s", key[:12],
                     "" if found.layer else " (the step changed no files)")
        return found

    def store(self, key: str, layer: Layer | None) -> None:
        """Remember what the step did: its layer, or None when it changed no files."""
        try:
            self.layers.store(key, layer)
        except (RegistryError, OSError) as error:
            log.warning("could not store the step in the cache: %s", error)

    @staticmethod
    def _reads_context(command: Any) -> bool:
        instruction = command.instruction
        return (instruction.keyword.upper() in ("COPY", "ADD") and not instruction.flags.get("from")
                and hasattr(command, "arguments"))


def step_cache(options: CacheOptions, destinations: tuple[str, ...],
               clients: RegistryClients) -> StepCache | None:
    """The cache the options ask for, or None without --cache."""
    if not options.enabled:
        return None
    repo = options.repo
    if repo is None:
        first = parse_reference(destinations[0])
        repo = f"{first.context_name}/cache"
    now = lambda: datetime.datetime.now(datetime.timezone.utc)  # noqa: E731
    if repo.startswith("oci:"):
        directory = repo[len("oci:"):]
        if not directory:
            raise UsageError("--cache-repo oci: needs a directory, as in oci:/var/cache/lamina")
        return StepCache(LayoutLayerCache(Path(directory), options.ttl_seconds,
                                          writable=options.push, now=now), options)
    ref = parse_reference(repo)
    client = clients.for_push(ref.registry) if options.push else clients.for_pull(ref.registry)
    store = RegistryLayerCache(ref, client, options.ttl_seconds, writable=options.push, now=now)
    return StepCache(store, options)
