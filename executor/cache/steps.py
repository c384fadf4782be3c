"""The build loop's view of the layer cache: a key for every step, and for cacheable steps
(RUN; COPY/ADD with --cache-copy-layers) what an earlier run of it did, to use instead of running
it: the layer it added, or the fact that it changed no files."""

from __future__ import annotations

import datetime
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from executor.cache.entry import CachedStep
from executor.cache.key import base_key, context_files, inputs_summary, report_inputs, step_key
from executor.cache.layout_store import LayoutLayerCache
from executor.cache.store import RegistryLayerCache
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import Instruction
from executor.errors import UsageError
from executor.image import Image, Layer, sha256_digest
from executor.options import CacheOptions
from executor.registry import RegistryError, parse_reference
from executor.registry.routing import RegistryClients

log = logging.getLogger("lamina")


class LayerCache(Protocol):
    """Where cached steps live (a registry repository, a local OCI layout directory). ``store``
    with ``None`` records a step that changed no files. Neither raises for an entry that is
    missing, expired or unusable: that is a miss."""

    def lookup(self, key: str) -> CachedStep | None: ...

    def store(self, key: str, layer: Layer | None) -> None: ...


class StepInputs(Protocol):
    """What a command says about its step (``commands.CacheInputs``)."""

    @property
    def context_sources(self) -> tuple[str, ...] | None: ...

    @property
    def from_refs(self) -> tuple[str, ...]: ...

    @property
    def remote_sources(self) -> tuple[str, ...]: ...


class CacheableCommand(Protocol):
    """The cache's view of a command: its instruction as written and what it answers about itself
    (kaniko's ``ShouldCacheOutput`` and ``FilesUsedFromContext``)."""

    @property
    def instruction(self) -> Instruction: ...

    def cache_layer(self) -> str | None: ...  # "run", "copy" or None

    def cache_inputs(self, ctx: Any) -> StepInputs: ...


class _StageState(Protocol):
    @property
    def run_config(self) -> dict[str, Any]: ...

    def arg_values(self) -> dict[str, str]: ...


class _FromSources(Protocol):
    def identity(self, ref: str) -> str: ...


class StepView(Protocol):
    """The cache's view of a step's context: the build context, the stage's state, and the
    stages and images ``--from`` can name."""

    @property
    def files(self) -> BuildContextFiles: ...

    @property
    def state(self) -> _StageState: ...

    @property
    def from_sources(self) -> _FromSources | None: ...


@dataclass
class StepCache:
    layers: LayerCache
    options: CacheOptions
    # how layers' timestamps are written ("" as they are; "epoch 0"; "clamped to N"): a layer
    # cached under another rule has other timestamps, so it is another key, never reused
    timestamps: str = ""

    def base(self, image: Image, platform: str | None = None) -> str:
        """The chain's first parent: the digest of the base image's config (which names every
        base layer by diff id) and the ``platform`` the stage is built for."""
        config = json.dumps(image.config, sort_keys=True, separators=(",", ":")).encode()
        return base_key(sha256_digest(config), platform)

    def key(self, parent: str, command: CacheableCommand, ctx: StepView) -> str:
        """The key of ``command`` run in ``ctx`` (call before executing it)."""
        instruction = command.instruction
        inputs = command.cache_inputs(ctx)
        sources = inputs.context_sources
        files = None if sources is None else context_files(ctx.files, sources)
        state = ctx.state
        # the declared ARGs with their --build-arg values: an undeclared --build-arg changes
        # nothing in the build, so not the key either
        args: dict[str, Any] = {"args": state.arg_values()}
        if self.timestamps:  # absent otherwise: keys of earlier caches stay valid
            args["timestamps"] = self.timestamps
        if inputs.from_refs:
            # what COPY --from / RUN --mount from= read: the stage's or image's content, so a
            # changed earlier stage is a different key for this step and every one after it
            if ctx.from_sources is None:
                raise UsageError(f"--from={inputs.from_refs[0]}: no stages or images available here")
            args["from"] = [[ref, ctx.from_sources.identity(ref)] for ref in inputs.from_refs]
        if inputs.remote_sources:  # ADD <git URL>: the commit it resolved to, not the branch name
            args["remote"] = list(inputs.remote_sources)
        written = {"keyword": instruction.keyword, "original": instruction.original,
                   "flags": {k: list(v) for k, v in instruction.flags.items()}}
        key = step_key(parent, written, state.run_config, args, files)
        report_inputs(key, self.cacheable(command),  # the build report's "why it missed"
                      lambda: inputs_summary(parent, written, state.run_config, args, files))
        return key

    def cacheable(self, command: CacheableCommand) -> bool:
        """Whether the step's layer may come from the cache: RUN with --cache-run-layers, COPY/ADD
        from the build context with --cache-copy-layers."""
        layer = command.cache_layer()
        if layer == "run":
            return self.options.run_layers
        if layer == "copy":
            return self.options.copy_layers
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


def step_cache(options: CacheOptions, destinations: tuple[str, ...],
               clients: RegistryClients, timestamps: str = "") -> StepCache | None:
    """The cache the options ask for, or None without --cache; ``timestamps`` names how layer
    timestamps are written (see ``StepCache``)."""
    if not options.enabled:
        return None
    repo = options.repo
    if repo is None:
        first = parse_reference(destinations[0])
        repo = f"{first.context_name}/cache"
    now = lambda: datetime.datetime.now(datetime.UTC)  # noqa: E731
    if repo.startswith("oci:"):
        directory = repo[len("oci:"):]
        if not directory:
            raise UsageError("--cache-repo oci: needs a directory, as in oci:/var/cache/lamina")
        return StepCache(LayoutLayerCache(Path(directory), options.ttl_seconds,
                                          writable=options.push, now=now), options, timestamps)
    ref = parse_reference(repo)
    client = clients.for_push(ref.registry) if options.push else clients.for_pull(ref.registry)
    store = RegistryLayerCache(ref, client, options.ttl_seconds, writable=options.push, now=now)
    return StepCache(store, options, timestamps)
