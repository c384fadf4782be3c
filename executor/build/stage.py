"""One stage of a Dockerfile: pull and extract the base, run each command, snapshot each change."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

from executor.build.base_image import load_base_image
from executor.build.clock import Clock
from executor.build.context import BuildContextFiles
from executor.build.layers import LayerSpool
from executor.build.registries import RegistryClients
from executor.commands import StageState, StepContext, command_for
from executor.dockerfile import ShellLexer, Stage
from executor.errors import BuildError, DockerfileError
from executor.image import Image
from executor.sandbox.runner import CommandRunner
from snapshot.errors import SnapshotError
from snapshot.extract import extract_layer, open_layer_stream
from snapshot.ignore import IgnoreList
from snapshot.snapshotter import Snapshotter

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


def extract_image(image: Image, root: Path, ignore: IgnoreList) -> None:
    for number, layer in enumerate(image.layers, 1):
        started = time.monotonic()
        try:
            with layer.open() as compressed, open_layer_stream(compressed) as stream:
                extract_layer(stream, root, ignore)
        except SnapshotError as error:
            raise BuildError(f"base image layer {layer.digest}: {error}") from None
        log.info("extracted base layer %d/%d %s in %.2fs", number, len(image.layers),
                 layer.digest[:19], time.monotonic() - started)


def build_stage(stage: Stage, env: StageEnvironment) -> Image:
    base_name = _expand_base(stage, env)
    log.info("FROM %s", base_name)
    image = load_base_image(base_name, env.clients)
    extract_image(image, env.root, env.ignore)
    snapshotter = Snapshotter(env.root, env.ignore)
    started = time.monotonic()
    snapshotter.take()
    log.info("initial snapshot in %.2fs", time.monotonic() - started)
    state = StageState(run_config=image.run_config, build_args=env.build_args,
                       global_args=env.global_args)
    ctx = StepContext(root=env.root, files=env.files, runner=env.runner, state=state,
                      lexer=env.lexer, dockerfile_name=env.dockerfile_name)
    for instruction in stage.instructions:
        command = command_for(instruction)
        log.info("%s", command.created_by())
        command.execute(ctx)
        image = image.with_run_config(state.run_config).with_config_values(**state.image_values)
        history = {"created": env.clock(), "created_by": command.created_by()}
        if not command.changes_files:
            image = image.with_layer(None, history)
            continue
        changes, seconds = env.spool.take(snapshotter)
        log.info("snapshot after line %d in %.2fs", instruction.line, seconds)
        if not changes:
            log.info("no files changed, no layer")
            image = image.with_layer(None, history)
            continue
        image = image.with_layer(env.spool.write(env.root, snapshotter, changes), history)
    return image


def _expand_base(stage: Stage, env: StageEnvironment) -> str:
    # FROM sees only the global ARGs (those before the first FROM, --build-arg applied).
    scope = {k: v for k, v in env.global_args.items() if v is not None}
    name = env.lexer.process_word(stage.base, scope, line=stage.line, dockerfile=env.dockerfile_name)
    if not name:
        raise DockerfileError(f"FROM {stage.base!r} expands to an empty image name", line=stage.line,
                              dockerfile=env.dockerfile_name)
    return name
