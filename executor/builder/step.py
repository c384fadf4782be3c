"""One step of a stage: run the command, snapshot what it changed into a layer, and record it in
the image; with ``--cache``, a step the cache has is replaced by what the cache holds, and the root
is built only when a step needs its files (``StageRoot``)."""

from __future__ import annotations

import errno
import logging
from dataclasses import dataclass

from executor.builder.environment import BuildEnvironment
from executor.builder.stage_root import StageRoot
from executor.cache import CachedStep, StepCache
from executor.commands import Command, StepContext
from executor.dockerfile import RunInstruction
from executor.errors import BuildError
from executor.events import event
from executor.image import Image

log = logging.getLogger("lamina")


@dataclass
class StepRunner:
    """Runs the steps of one stage over its root, in order; ``cache_key`` chains the keys."""

    env: BuildEnvironment
    ctx: StepContext
    root: StageRoot
    cache_key: str = ""
    # a RUN with mounts ran since the last snapshot: the next one must list every directory
    mounted_since_snapshot: bool = False

    def run(self, command: Command, image: Image) -> Image:
        """The image after ``command``: from the cache when it has the step, else by running it."""
        try:
            return self._run(command, image)
        except OSError as error:
            if error.errno != errno.ENOSPC:
                raise
            instruction = command.instruction
            written = f" writing {error.filename}" if error.filename else ""
            raise BuildError(
                f"{self.env.dockerfile_name}:{instruction.line}: {instruction.keyword}: no space left "
                f"on device{written}; the build root is {self.env.root} and the kaniko dir (layers, "
                f"caches) {self.env.kaniko_dir}: give them more room") from None

    def _run(self, command: Command, image: Image) -> Image:
        instruction = command.instruction
        log.info("%s", command.created_by(),
                 extra=event("step.start", line=instruction.line, keyword=instruction.keyword))
        cache = self.env.cache
        if cache is None:
            return self._execute(command, image)
        self.cache_key = cache.key(self.cache_key, command, self.ctx)  # of the state before it
        if not cache.cacheable(command):
            return self._execute(command, image)
        cached = cache.lookup(self.cache_key)
        if cached is None:
            return self._execute(command, image, cache)
        return self._from_cache(command, image, cached)

    def _from_cache(self, command: Command, image: Image, cached: CachedStep) -> Image:
        """The step as the cache holds it: its layer (or, for a step that changed no files,
        nothing) is its whole effect on the files, extracted now or once the root is built; its
        effect on the config (WORKDIR's) is made again."""
        instruction = command.instruction
        command.apply_cached(self.ctx)
        extracted = self.root.add_cached(cached.layer) if cached.layer is not None else False
        log.info("line %d from the cache%s", instruction.line,
                 " (its layer is extracted only if a later step needs the files)"
                 if cached.layer is not None and not extracted else "",
                 extra=event("step.cached", line=instruction.line, key=self.cache_key,
                             layer=cached.layer.digest if cached.layer else None,
                             extracted=extracted))
        return self._with_state(image).with_layer(cached.layer, self._history(command))

    def _execute(self, command: Command, image: Image, cache: StepCache | None = None) -> Image:
        """Run the command; ``cache`` (for a cacheable step that missed) remembers what it did."""
        # a command that changes files needs the root: built now if this is the first
        snapshotter = self.root.snapshotter(command.instruction) if command.changes_files else None
        command.execute(self.ctx)
        image = self._with_state(image)
        history = self._history(command)
        spool = self.env.spool
        # a RUN's mounts bring directories from outside the root: a hard link made into one
        # changes files where no watched directory sees it, so every directory is listed
        if isinstance(command.instruction, RunInstruction) and command.instruction.mounts:
            self.mounted_since_snapshot = True
        if snapshotter is None or spool.options.single_snapshot:
            return image.with_layer(None, history)
        changes, seconds = spool.take(snapshotter, full=self.mounted_since_snapshot)
        self.mounted_since_snapshot = False
        log.info("snapshot after line %d in %.2fs", command.instruction.line, seconds)
        if not changes:
            log.info("no files changed, no layer")
            if cache is not None:
                cache.store(self.cache_key, None)  # so that the next build skips it too
            return image.with_layer(None, history)
        layer = spool.write(self.env.root, snapshotter, changes)
        if cache is not None:
            cache.store(self.cache_key, layer)
        return image.with_layer(layer, history)

    def _with_state(self, image: Image) -> Image:
        state = self.ctx.state
        return image.with_run_config(state.run_config).with_config_values(**state.image_values)

    def _history(self, command: Command) -> dict[str, str]:
        return {"created": self.env.clock(), "created_by": command.created_by()}

    def single_snapshot(self, image: Image) -> Image:
        """--single-snapshot: every instruction ran without a snapshot; one layer holds all of it.
        A root never built changed only by cached layers: there is nothing to add."""
        if not self.root.built:
            return image
        spool = self.env.spool
        changes, seconds = spool.take(self.root.snapshotter(), full=self.mounted_since_snapshot)
        self.mounted_since_snapshot = False
        log.info("single snapshot of the stage in %.2fs", seconds)
        if not changes:
            return image
        return image.with_layer(spool.write(self.env.root, self.root.snapshotter(), changes),
                                {"created": self.env.clock(), "created_by": "lamina --single-snapshot"})
