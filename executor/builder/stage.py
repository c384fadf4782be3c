"""One stage of a Dockerfile: pull and extract the base, run each command, snapshot each change."""

from __future__ import annotations

import logging
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from executor.registry.pull import load_base_image
from executor.clock import Clock
from executor.contexts.files import BuildContextFiles
from executor.builder.spool import LayerSpool
from executor.commands.mounts import MountEnvironment
from executor.registry.routing import RegistryClients
from executor.cache import StepCache
from executor.cache.base_images import BaseImageCache, CorruptCacheEntry
from executor.commands import StageState, StepContext, command_for
from executor.builder.stages import BuiltStages, FromSources
from executor.rootfs.clean import clean_root
from executor.dockerfile import Instruction, ShellLexer, Stage, parse_instruction
from executor.errors import BuildError, DockerfileError
from executor.image import Image
from executor.registry import RegistryError
from executor.sandbox.runner import CommandRunner
from snapshot.errors import SnapshotError
from snapshot.compression import ReadAhead
from snapshot.extract import extract_layer, open_layer_stream
from snapshot.ignore import IgnoreList
from snapshot.snapshotter import DigestHints, Snapshotter

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class StageEnvironment:
    """What every stage of one build shares."""

    root: Path
    ignore: IgnoreList
    files: BuildContextFiles
    runner: CommandRunner
    clients: RegistryClients
    spool: LayerSpool
    clock: Clock
    lexer: ShellLexer
    build_args: Mapping[str, str]
    global_args: Mapping[str, str | None]
    dockerfile_name: str = "Dockerfile"
    mounts: MountEnvironment | None = None  # RUN --mount secrets and caches
    cache: StepCache | None = None  # --cache: layers of earlier builds, by step key
    base_images: BaseImageCache | None = None  # --cache-dir: the warmer's base images
    extract_retries: int = 0  # --image-fs-extract-retry


def extract_image(image: Image, root: Path, ignore: IgnoreList, *, hints: DigestHints | None = None) -> None:
    """Apply the image's layers over ``root``. Each layer is downloaded, verified and decompressed
    on a reader thread while this one writes files; ``hints`` collects the written files' digests
    for the snapshot baseline."""
    for number, layer in enumerate(image.layers, 1):
        started = time.monotonic()
        try:
            with layer.open() as compressed, ReadAhead(open_layer_stream(compressed)) as stream:
                extract_layer(stream, root, ignore, hints=hints)
        except SnapshotError as error:
            raise BuildError(f"base image layer {layer.digest}: {error}") from None
        log.info("extracted base layer %d/%d %s in %.2fs", number, len(image.layers),
                 layer.digest[:19], time.monotonic() - started)


def _extract_base(image: Image, env: StageEnvironment) -> DigestHints:
    """Extract the stage's base over the root; a download that fails for good midway (resumes
    exhausted, digest mismatch) leaves a half-extracted root, so --image-fs-extract-retry cleans
    the root and starts again from the first layer, as kaniko does."""
    for attempt in range(env.extract_retries + 1):
        hints: DigestHints = {}
        try:
            extract_image(image, env.root, env.ignore, hints=hints)
            return hints
        except CorruptCacheEntry:
            raise  # the same cache file would fail again: build_stage pulls instead
        except (RegistryError, BuildError) as error:  # a gzip error may come before the digest
            if attempt == env.extract_retries:
                raise
            log.warning("extracting the base image failed (%s); cleaning the root and extracting "
                        "again (retry %d of %d)", error, attempt + 1, env.extract_retries)
            clean_root(env.root, env.ignore)
            time.sleep(min(2.0 ** attempt, 10.0))
    raise AssertionError("unreachable")


def build_stage(stage: Stage, env: StageEnvironment, built: BuiltStages,
                previous_files: Path | None = None) -> Image:
    """Build one stage over ``env.root``; ``previous_files`` (the last stage's files, moved aside)
    are deleted once this stage's base is extracted."""
    base_name = _expand_base(stage, env)
    base_stage = built.stage_for(base_name, stage.index)
    if base_stage is not None:
        log.info("FROM %s (stage %d)", base_name, base_stage.index)
        image = built.images[base_stage.index]
    else:
        log.info("FROM %s", base_name)
        image = load_base_image(base_name, env.clients, env.base_images)
    try:
        hints = _extract_base(image, env)
    except BuildError as error:
        # --cache-dir: a damaged copy shows as a digest mismatch or, further into a large layer,
        # as a gzip error first; either way the registry's copy is tried once
        if base_stage is not None or env.base_images is None:
            raise
        log.warning("%s; pulling %s from the registry instead", error, base_name)
        clean_root(env.root, env.ignore)
        image = load_base_image(base_name, env.clients, None)
        hints = _extract_base(image, env)
    if previous_files is not None:
        shutil.rmtree(previous_files, ignore_errors=True)
    image, instructions = _with_onbuild_triggers(image, stage, env)
    snapshotter = env.spool.snapshotter(env.root, env.ignore)
    _, seconds = env.spool.take(snapshotter, hints=hints)
    del hints  # a few MB per 100,000 files, needed no more
    log.info("initial snapshot in %.2fs", seconds)
    state = StageState(run_config=image.run_config, build_args=env.build_args,
                       global_args=env.global_args)
    from_sources = FromSources(
        built=built, current=stage.index,
        load_image=lambda ref: load_base_image(ref, env.clients, env.base_images),
        extract=lambda img, root: extract_image(img, root, IgnoreList(())),
        images_dir=env.spool.directory.parent / "images")
    ctx = StepContext(root=env.root, files=env.files, runner=env.runner, state=state,
                      lexer=env.lexer, dockerfile_name=env.dockerfile_name, from_sources=from_sources,
                      mounts=env.mounts)
    cache_key = env.cache.base(image) if env.cache else ""
    for instruction in instructions:
        command = command_for(instruction)
        log.info("%s", command.created_by())
        if env.cache is not None:  # the key is of the state before the step
            cache_key = env.cache.key(cache_key, command, ctx)
            cacheable = env.cache.cacheable(command)
            cached = env.cache.lookup(cache_key) if cacheable else None
            if cached is not None:
                # RUN/COPY change no config: the cached layer (or, for a step that changed no
                # files, nothing) is the whole effect of the step
                if cached.layer is not None:
                    extract_image(Image(config={}, layers=(cached.layer,)), env.root, env.ignore)
                    env.spool.take(snapshotter)  # the index absorbs the cached files
                image = image.with_layer(cached.layer, {"created": env.clock(),
                                                        "created_by": command.created_by()})
                continue
        command.execute(ctx)
        image = image.with_run_config(state.run_config).with_config_values(**state.image_values)
        history = {"created": env.clock(), "created_by": command.created_by()}
        if not command.changes_files or env.spool.options.single_snapshot:
            image = image.with_layer(None, history)
            continue
        changes, seconds = env.spool.take(snapshotter)
        log.info("snapshot after line %d in %.2fs", instruction.line, seconds)
        if not changes:
            log.info("no files changed, no layer")
            if env.cache is not None and cacheable:
                env.cache.store(cache_key, None)  # so that the next build skips it too
            image = image.with_layer(None, history)
            continue
        layer = env.spool.write(env.root, snapshotter, changes)
        if env.cache is not None and cacheable:
            env.cache.store(cache_key, layer)
        image = image.with_layer(layer, history)
    if env.spool.options.single_snapshot:
        image = _single_snapshot(image, snapshotter, env)
    return image


def _single_snapshot(image: Image, snapshotter: Snapshotter, env: StageEnvironment) -> Image:
    """--single-snapshot: every instruction ran without a snapshot; one layer holds all of it."""
    changes, seconds = env.spool.take(snapshotter)
    log.info("single snapshot of the stage in %.2fs", seconds)
    if not changes:
        return image
    return image.with_layer(env.spool.write(env.root, snapshotter, changes),
                            {"created": env.clock(), "created_by": "lamina --single-snapshot"})


def _with_onbuild_triggers(image: Image, stage: Stage, env: StageEnvironment
                           ) -> tuple[Image, list[Instruction]]:
    """A base's ONBUILD triggers run first, as if written right after FROM; the new image does not
    inherit them (Docker's rule)."""
    run_config = image.run_config
    triggers = run_config.pop("OnBuild", None) or []
    if not triggers:
        return image, list(stage.instructions)
    parsed = [parse_instruction(trigger, line=stage.line, escape=env.lexer.escape,
                                dockerfile=env.dockerfile_name) for trigger in triggers]
    for trigger in parsed:
        log.info("running ONBUILD trigger from the base image: %s", trigger.original)
    return image.with_run_config(run_config), [*parsed, *stage.instructions]


def _expand_base(stage: Stage, env: StageEnvironment) -> str:
    # FROM sees only the global ARGs (those before the first FROM, --build-arg applied).
    scope = {k: v for k, v in env.global_args.items() if v is not None}
    name = env.lexer.process_word(stage.base, scope, line=stage.line, dockerfile=env.dockerfile_name)
    if not name:
        raise DockerfileError(f"FROM {stage.base!r} expands to an empty image name", line=stage.line,
                              dockerfile=env.dockerfile_name)
    return name
