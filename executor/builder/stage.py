"""One stage of a Dockerfile: prepare its base (pull or take an earlier stage's image, extract it,
add the base's ONBUILD triggers), then run each step."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from executor.builder.environment import BuildEnvironment
from executor.builder.extract import extract_base
from executor.builder.stages import BuiltStage, BuiltStages, FromSources
from executor.builder.step import StepRunner
from executor.commands import StageState, StepContext, command_for
from executor.dockerfile import Instruction, Stage, parse_instruction
from executor.errors import BuildError, DockerfileError
from executor.image import DEFAULT_PATH, Image
from executor.registry.pull import load_base_image
from executor.rootfs.clean import clean_root
from snapshot.snapshotter import DigestHints

log = logging.getLogger("lamina")


def build_stage(stage: Stage, env: BuildEnvironment, built: BuiltStages,
                previous_files: Path | None = None) -> BuiltStage:
    """Build one stage over ``env.root``; ``previous_files`` (the last stage's files, moved aside)
    are deleted once this stage's base is extracted."""
    image, hints, base_state = _prepare_base(stage, env, built)
    if previous_files is not None:
        shutil.rmtree(previous_files, ignore_errors=True)
    image, instructions = _with_onbuild_triggers(_with_default_path(image), stage, env)
    snapshotter = env.spool.snapshotter(env.root, env.ignore)
    _, seconds = env.spool.take(snapshotter, hints=hints)
    del hints  # a few MB per 100,000 files, needed no more
    log.info("initial snapshot in %.2fs", seconds)
    state = _starting_state(image, env, base_state)
    from_sources = FromSources(built=built, current=stage.index, clients=env.clients,
                               base_images=env.base_images, images_dir=env.images_dir)
    ctx = StepContext(root=env.root, files=env.files, runner=env.runner, state=state,
                      lexer=env.lexer, dockerfile_name=env.dockerfile_name,
                      from_sources=from_sources, mounts=env.mounts)
    steps = StepRunner(env, ctx, snapshotter,
                       cache_key=env.cache.base(image) if env.cache else "")
    for instruction in instructions:
        image = steps.run(command_for(instruction), image)
    if env.spool.options.single_snapshot:
        image = steps.single_snapshot(image)
    return BuiltStage(image=image, state=state)


def _starting_state(image: Image, env: BuildEnvironment, base_state: StageState | None) -> StageState:
    """The state before the stage's first instruction: its base image's config and, FROM an earlier
    stage, that stage's ARGs and their values (see ``BuiltStage``)."""
    state = StageState(run_config=image.run_config, build_args=env.build_args,
                       global_args=env.global_args)
    if base_state is not None:
        state.args.update(base_state.args)
        state.args_over_env.update(base_state.args_over_env)
    return state


def _prepare_base(stage: Stage, env: BuildEnvironment, built: BuiltStages
                  ) -> tuple[Image, DigestHints, StageState | None]:
    """The stage's base image, extracted over the root; the digests extraction computed; and when
    the base is an earlier stage, that stage's final state."""
    base_name = _expand_base(stage, env)
    base_stage = built.stage_for(base_name, stage.index)
    if base_stage is not None:
        log.info("FROM %s (stage %d)", base_name, base_stage.index)
        result = built.results[base_stage.index]
        hints = extract_base(result.image, env.root, env.ignore, env.extract_retries)
        return result.image, hints, result.state
    log.info("FROM %s", base_name)
    image = load_base_image(base_name, env.clients, env.base_images)
    try:
        return image, extract_base(image, env.root, env.ignore, env.extract_retries), None
    except BuildError as error:
        # --cache-dir: a damaged copy shows as a digest mismatch or, further into a large layer,
        # as a gzip error first; either way the registry's copy is tried once
        if env.base_images is None:
            raise
        log.warning("%s; pulling %s from the registry instead", error, base_name)
        clean_root(env.root, env.ignore)
        image = load_base_image(base_name, env.clients, None)
        return image, extract_base(image, env.root, env.ignore, env.extract_retries), None


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
