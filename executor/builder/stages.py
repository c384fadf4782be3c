"""The results of the stages built so far, and where the files that later instructions read
(``COPY --from``, ``RUN --mount=from=``) come from: a kept earlier stage, or an image."""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from executor.atomic import atomic_directory
from executor.builder.extract import extract_image
from executor.builder.named_contexts import NamedContexts, image_identity, image_root
from executor.commands import StageState
from executor.commands.copying import CopyEngine, CopyOwnership
from executor.dockerfile import Dockerfile, Stage
from executor.errors import UsageError
from executor.events import event
from executor.image import Image
from executor.registry.pull import LocalImages, load_base_image
from executor.registry.routing import RegistryClients
from snapshot.ignore import IgnoreList

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class BuiltStage:
    """A finished stage: its image, and its state as its last instruction left it."""

    image: Image
    # A stage built FROM this one starts with its ARGs in scope and their values: BuildKit's
    # dispatchState.init (dockerfile2llb/convert.go) starts from the base stage's LLB state, whose
    # env holds them, and copies its buildArgs.
    state: StageState
    # False: every step came from the cache and the root was never built, so the files are only
    # in the image's layers (extracted when a later stage reads them)
    files_on_root: bool = True


@dataclass
class BuiltStages:
    """Results of the stages built so far: their images and states and, where needed, their files."""

    dockerfile: Dockerfile
    store: Path  # <kaniko-dir>/stages
    results: dict[int, BuiltStage] = field(default_factory=dict)
    files: dict[int, Path] = field(default_factory=dict)
    # stages kept for --from whose root was never built: extracted from their image when read
    unextracted: dict[int, IgnoreList] = field(default_factory=dict)

    def stage_for(self, ref: str, current: int) -> Stage | None:
        return self.dockerfile.earlier_stage(ref, current)

    def save_files(self, index: int, root: Path, ignore: IgnoreList, sandboxed: bool) -> None:
        """Keep the stage's root for later ``--from`` readers.

        In sandbox mode the root is moved aside (a rename, no copying) and recreated empty; on ``/``
        the files are copied out, since ``/`` itself cannot move. A stage whose root was never
        built (every step from the cache) is extracted from its image by the first reader.
        """
        if not self.results[index].files_on_root:
            self.unextracted[index] = ignore
            return
        self.store.mkdir(parents=True, exist_ok=True)
        target = self.store / str(index)
        if target.exists():
            shutil.rmtree(target)
        if sandboxed and os.stat(root).st_dev == os.stat(self.store).st_dev:
            os.rename(root, target)
            root.mkdir()
            os.chmod(root, 0o755)
        else:
            _copy_root(root, target, ignore)
        self.files[index] = target
        log.info("kept the files of stage %d for later stages", index)

    def files_of(self, index: int) -> Path | None:
        """Where the kept files of stage ``index`` are (extracted now if they are only in its
        image's layers), or None if they were not kept."""
        if index in self.files:
            return self.files[index]
        ignore = self.unextracted.pop(index, None)
        if ignore is None:
            return None
        image = self.results[index].image
        target = self.store / str(index)
        self.store.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with atomic_directory(target, replace=True) as partial:
            extract_image(image, partial, ignore, what=f"stage {index} layer")
        self.files[index] = target
        log.info("extracted the files of stage %d (%d layers) for --from in %.2fs", index,
                 len(image.layers), time.monotonic() - started,
                 extra=event("stage.extracted", index=index, layers=len(image.layers)))
        return target


def _copy_root(root: Path, target: Path, ignore: IgnoreList) -> None:
    """Copy the root (ignored paths left out) as COPY --from will read it: owners, modes, times
    and hardlinks kept, with the COPY engine itself."""
    engine = CopyEngine(target, CopyOwnership(identity=None, chmod=None, keep_source_owner=True))
    target.mkdir(parents=True)
    for dirpath, dirnames, filenames in os.walk(root):
        base = os.path.relpath(dirpath, root)
        base = "" if base == "." else base
        kept_dirs = []
        for name in sorted(dirnames) + sorted(filenames):
            rel = f"{base}/{name}" if base else name
            if ignore.ignores(rel):
                continue
            engine.copy_entry(Path(dirpath, name), target / rel)
            if name in dirnames and not os.path.islink(os.path.join(dirpath, name)):
                kept_dirs.append(name)
        dirnames[:] = kept_dirs
    engine.finish()


@dataclass
class FromSources:
    """Where ``--from=REF`` files come from: a named context (``--build-context``, which wins
    over a stage of its name), a kept earlier stage, or an image extracted once under
    ``images_dir``."""

    built: BuiltStages
    current: int
    clients: RegistryClients
    base_images: LocalImages | None
    images_dir: Path
    named: NamedContexts | None = None

    def identity(self, ref: str) -> str:
        """What the files of ``ref`` are, for cache keys: its layers' diff ids (content, not the
        config, whose timestamps change each time a stage is rebuilt); for a named context what
        ``NamedContexts.identity`` says."""
        named = self.named
        context = named.lookup(ref) if named is not None else None
        if named is not None and context is not None:
            return named.identity(context, self.clients, self.base_images)
        stage = self.built.stage_for(ref, self.current)
        if stage is not None:
            result = self.built.results.get(stage.index)
            if result is None:
                raise UsageError(f"--from={ref}: stage {stage.index} was not built")
            image = result.image
        elif self.built.dockerfile.find_stage(ref) is not None:
            raise UsageError(f"--from={ref} names stage that is not an earlier stage")
        else:
            image = load_base_image(ref, self.clients, self.base_images)
        return image_identity(image)

    def root_for(self, ref: str) -> Path:
        named = self.named
        context = named.lookup(ref) if named is not None else None
        if named is not None and context is not None:
            return named.root(context, self.clients, self.base_images)
        stage = self.built.stage_for(ref, self.current)
        if stage is not None:
            files = self.built.files_of(stage.index)
            if files is None:
                raise UsageError(f"--from={ref}: the files of stage {stage.index} were not kept")
            return files
        if self.built.dockerfile.find_stage(ref) is not None:
            raise UsageError(f"--from={ref} names stage that is not an earlier stage")
        return image_root(load_base_image(ref, self.clients, self.base_images), self.images_dir)
