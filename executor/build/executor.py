"""A whole build: options in, image pushed / written, digest out."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path
from typing import Mapping

from executor.build.clock import Clock, utc_now
from executor.build.context import BuildContextFiles
from executor.build.layers import LayerSpool
from executor.build.registries import RegistryClients
from executor.build.root import check_root, ignore_list
from executor.build.stage import StageEnvironment, build_stage
from executor.dockerfile import Dockerfile, ShellLexer, parse_arg, parse_dockerfile
from executor.errors import DockerfileError, UsageError
from executor.image import Image, serialize
from executor.options import ExecutorOptions
from executor.outputs import push_image, tarball_tags, write_tarball, write_text_atomically
from executor.sandbox.runner import ChrootRunner, CommandRunner, HostRunner

log = logging.getLogger("lamina")


def read_dockerfile(path: Path) -> Dockerfile:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise UsageError(f"Dockerfile {path} does not exist") from None
    except (IsADirectoryError, UnicodeDecodeError, PermissionError) as error:
        raise UsageError(f"cannot read Dockerfile {path}: {error}") from None
    return parse_dockerfile(text, name=path.name)


def global_arg_values(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> dict[str, str | None]:
    """The ARGs declared before the first FROM, each a --build-arg value or its default."""
    values: dict[str, str | None] = {}
    for instruction in dockerfile.global_args:
        scope = {k: v for k, v in values.items() if v is not None}
        for name, default in parse_arg(instruction.args, scope, escape=dockerfile.escape,
                                       line=instruction.line, dockerfile=dockerfile.name):
            values[name] = build_args.get(name, default)
    return values


def _runner(options: ExecutorOptions) -> CommandRunner:
    if options.root.sandboxed:
        return ChrootRunner(root=options.root.root, scratch=options.root.kaniko_dir / "sandbox")
    return HostRunner()


def _finish_image(image: Image, options: ExecutorOptions, clock: Clock) -> Image:
    run_config = image.run_config
    if options.source.labels:
        run_config["Labels"] = {**(run_config.get("Labels") or {}), **options.source.labels}
    return image.with_run_config(run_config).with_config_values(created=clock())


def execute(options: ExecutorOptions, clock: Clock = utc_now, env: dict[str, str] | None = None) -> str:
    """Build the Dockerfile; push, write the tarball and digest files; return the image digest."""
    env = dict(os.environ) if env is None else env
    dockerfile = read_dockerfile(options.source.dockerfile)
    check_root(options.root)
    if len(dockerfile.stages) > 1:
        raise DockerfileError("multi-stage builds are not supported yet", line=dockerfile.stages[1].line,
                              dockerfile=options.source.dockerfile.name)
    files = BuildContextFiles.load(options.source.context)
    kaniko_dir = options.root.kaniko_dir
    kaniko_dir.mkdir(parents=True, exist_ok=True)
    options.root.root.mkdir(parents=True, exist_ok=True)
    global_args = global_arg_values(dockerfile, options.source.build_args)
    stage_env = StageEnvironment(
        root=options.root.root, ignore=ignore_list(options.root), files=files, runner=_runner(options),
        clients=RegistryClients.create(options.registry, kaniko_dir, env),
        spool=LayerSpool(kaniko_dir / "layers"), clock=clock,
        lexer=ShellLexer(dockerfile.escape), build_args=options.source.build_args,
        global_args=global_args, dockerfile_name=options.source.dockerfile.name)
    try:
        image = build_stage(dockerfile.stages[-1], stage_env)
        image = _finish_image(image, options, clock)
        serialized = serialize(image, options.output.image_format)
        if options.output.tar_path:
            write_tarball(image, serialized, options.output.tar_path,
                          tarball_tags(list(options.output.destinations)))
        if options.output.destinations and not options.output.no_push:
            push_image(image, serialized, list(options.output.destinations), stage_env.clients)
        if options.output.digest_file:
            write_text_atomically(options.output.digest_file, serialized.digest)
        log.info("built image %s", serialized.digest)
        return serialized.digest
    finally:
        shutil.rmtree(kaniko_dir / "layers", ignore_errors=True)
