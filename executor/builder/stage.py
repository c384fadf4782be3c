"""One stage of a Dockerfile: resolve its base (pull the manifest and config, or take an earlier
stage's image), add the base's ONBUILD triggers, then run each step over a root that is extracted
as soon as (and only if) a step needs its files."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, replace
from pathlib import Path

from executor.builder.environment import BuildEnvironment
from executor.builder.extract import extract_base
from executor.builder.stage_root import StageRoot
from executor.builder.stages import BuiltStage, BuiltStages, FromSources
from executor.builder.step import StepRunner
from executor.commands import StageState, StepContext, command_for
from executor.dockerfile import Instruction, Stage, parse_instruction
from executor.errors import BuildError, DockerfileError
from executor.events import event
from executor.image import DEFAULT_PATH, Image, Platform
from executor.registry.pull import load_base_image
from executor.rootfs.clean import clean_root
from snapshot.snapshotter import DigestHints

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class _Base:
    """A stage's base before anything of it is extracted: the image (manifest and config; its
    layers still where they live) and, FROM an earlier stage, that stage's final state."""

    name: str
    image: Image
    state: StageState | None = None
    pulled: bool = False  # from a registry (or the --cache-dir copy of one), not an earlier stage
    platform: Platform | None = None  # what it was pulled for (FROM --platform, or the target)


def build_stage(stage: Stage, env: BuildEnvironment, built: BuiltStages,
                previous_files: Path | None = None, platform: Platform | None = None) -> BuiltStage:
    """Build one stage over ``env.root``; ``previous_files`` (the last stage's files, moved aside)
    are deleted once this stage's base is extracted. Without --cache the base is extracted at
    once; with it, when the first step needs the files (see ``StageRoot``)."""
    base = _resolve_base(stage, env, built, platform)  # platform: the stage's, see builder/platforms.py
    root = StageRoot(path=env.root, ignore=env.ignore, spool=env.spool, stage=stage.index,
                     extract_base=functools.partial(_extract, base, env),
                     previous_files=previous_files)
    if env.cache is None:
        root.snapshotter()
    image, instructions = _with_onbuild_triggers(_with_default_path(base.image), stage, env)
    state = _starting_state(image, env, base.state)
    from_sources = FromSources(built=built, current=stage.index, clients=env.clients,
                               base_images=env.base_images, images_dir=env.images_dir, named=env.named)
    ctx = StepContext(root=env.root, files=env.files, runner=env.runner, state=state,
                      lexer=env.lexer, dockerfile_name=env.dockerfile_name,
                      from_sources=from_sources, mounts=env.mounts)
    steps = StepRunner(env, ctx, root, cache_key=env.cache.base(image, str(platform) if platform else None)
                       if env.cache else "")
    for instruction in instructions:
        image = steps.run(command_for(instruction), image)
    if env.spool.options.single_snapshot:
        image = steps.single_snapshot(image)
    root.discard_previous()
    if not root.built:
        log.info("stage %d: every step from the cache, its base never extracted: the image is the "
                 "base's manifest and config and %d cached layers", stage.index,
                 len(image.layers) - len(base.image.layers),
                 extra=event("stage.cached", index=stage.index, layers=len(image.layers),
                             base_layers=len(base.image.layers)))
    elif root.extracted_base is not None and root.extracted_base is not base.image:
        # a damaged --cache-dir copy was replaced: push and write the registry's layers
        image = replace(image, layers=(*root.extracted_base.layers,
                                       *image.layers[len(base.image.layers):]))
    return BuiltStage(image=image, state=state, files_on_root=root.built)


def _starting_state(image: Image, env: BuildEnvironment, base_state: StageState | None) -> StageState:
    """The state before the stage's first instruction: its base image's config and, FROM an earlier
    stage, that stage's ARGs and their values (see ``BuiltStage``)."""
    state = StageState(run_config=image.run_config, build_args=env.build_args,
                       global_args=env.global_args)
    if base_state is not None:
        state.args.update(base_state.args)
        state.args_over_env.update(base_state.args_over_env)
    return state


def _resolve_base(stage: Stage, env: BuildEnvironment, built: BuiltStages,
                  platform: Platform | None = None) -> _Base:
    """The stage's base: an earlier stage's image and state, or an image's manifest and config
    (its layers are read only when extracted or pushed)."""
    base_name = _expand_base(stage, env)
    context = env.named.lookup(base_name) if base_name.lower() != "scratch" else None
    if context is not None:  # it wins over a stage of its name, as in BuildKit
        log.info("FROM %s (%s)", base_name, context.describe())
        return _Base(base_name, env.named.base_image(context, env.clients, env.base_images, env.spool,
                                                     platform), platform=platform)
    base_stage = built.stage_for(base_name, stage.index)
    if base_stage is not None:
        log.info("FROM %s (stage %d)", base_name, base_stage.index)
        result = built.results[base_stage.index]
        return _Base(base_name, result.image, result.state)
    log.info("FROM %s", base_name)
    return _Base(base_name, load_base_image(base_name, env.clients, env.base_images, platform),
                 pulled=True, platform=platform)


def _extract(base: _Base, env: BuildEnvironment) -> tuple[Image, DigestHints]:
    """Extract the base over the root: the image extracted and the digests extraction computed."""
    try:
        return base.image, extract_base(base.image, env.root, env.ignore, env.extract_retries)
    except BuildError as error:
        # --cache-dir: a damaged copy shows as a digest mismatch or, further into a large layer,
        # as a gzip error first; either way the registry's copy is tried once
        if not base.pulled or env.base_images is None:
            raise
        log.warning("%s; pulling %s from the registry instead", error, base.name)
        clean_root(env.root, env.ignore)
        image = load_base_image(base.name, env.clients, None, base.platform)
        return image, extract_base(image, env.root, env.ignore, env.extract_retries)


def _with_default_path(image: Image) -> Image:
    """A base whose Env has no PATH gets Docker's default, in the image config as well as for RUN
    (BuildKit's dockerfile2llb: "make sure that PATH is always set", system.DefaultPathEnv)."""
    run_config = image.run_config
    env = run_config.get("Env") or []
    if any(item.partition("=")[0] == "PATH" for item in env):
        return image
    run_config["Env"] = [*env, f"PATH={DEFAULT_PATH}"]
    return image.with_run_config(run_config)


def _with_onbuild_triggers(image: Image, stage: Stage, env: BuildEnvironment
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


def _expand_base(stage: Stage, env: BuildEnvironment) -> str:
    # FROM sees only the global ARGs (those before the first FROM, --build-arg applied).
    scope = {k: v for k, v in env.global_args.items() if v is not None}
    name = env.lexer.process_word(stage.base, scope, line=stage.line, dockerfile=env.dockerfile_name)
    if not name:
        raise DockerfileError(f"FROM {stage.base!r} expands to an empty image name", line=stage.line,
                              dockerfile=env.dockerfile_name)
    return name
