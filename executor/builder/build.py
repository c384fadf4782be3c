"""A whole build: options in, image pushed / written, digest out."""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
from pathlib import Path

from executor.dockerfile.args import global_arg_values, warn_unused_build_args
from executor.clock import Clock, epoch, utc_now
from executor.contexts.files import BuildContextFiles
from executor.builder.spool import LayerSpool
from executor.commands.mounts import MountEnvironment
from executor.registry.routing import RegistryClients
from executor.rootfs.root import check_root, ignore_list
from executor.builder.stage import StageEnvironment, build_stage
from executor.contexts import fetch_context
from executor.builder.stages import BuiltStages
from executor.rootfs.clean import clean_root
from executor.builder.plan import make_expander, plan_stages
from executor.dockerfile import Dockerfile, ShellLexer, parse_dockerfile
from executor.errors import UsageError
from executor.image import Image, serialize
from executor.options import ExecutorOptions
from executor.cache import step_cache
from executor.cache.base_images import base_image_cache
from executor.outputs import check_before_build, write_outputs
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


def _declared_args(dockerfile: Dockerfile, stages: tuple[int, ...]) -> set[str]:
    names = set()
    for instruction in [*dockerfile.global_args,
                        *(i for index in stages for i in dockerfile.stages[index].instructions)]:
        if instruction.keyword == "ARG":
            names.update(word.split("=", 1)[0] for word in instruction.words)
    return names


def _runner(options: ExecutorOptions) -> CommandRunner:
    if options.root.sandboxed:
        return ChrootRunner(root=options.root.root, scratch=options.root.kaniko_dir / "sandbox")
    return HostRunner(scratch=options.root.kaniko_dir / "sandbox")


def _finish_image(image: Image, options: ExecutorOptions, clock: Clock) -> Image:
    run_config = image.run_config
    if options.source.labels:
        run_config["Labels"] = {**(run_config.get("Labels") or {}), **options.source.labels}
    return image.with_run_config(run_config).with_config_values(created=clock())


def execute(options: ExecutorOptions, clock: Clock = utc_now, env: dict[str, str] | None = None) -> str:
    """Build the Dockerfile; push, write the tarball and digest files; return the image digest."""
    env = dict(os.environ) if env is None else env
    if options.snapshot.reproducible:
        clock = epoch
    check_root(options.root)
    # A remote context or Dockerfile URL lands under the kaniko dir, where the options point.
    fetch_context(options.source.fetch, env)
    dockerfile = read_dockerfile(options.source.dockerfile)
    files = BuildContextFiles.load(options.source.context)
    kaniko_dir = options.root.kaniko_dir
    kaniko_dir.mkdir(parents=True, exist_ok=True)
    options.root.root.mkdir(parents=True, exist_ok=True)
    global_args = global_arg_values(dockerfile, options.source.build_args)
    stage_env = StageEnvironment(
        root=options.root.root, ignore=ignore_list(options.root), files=files, runner=_runner(options),
        clients=RegistryClients.create(options.registry, kaniko_dir, env),
        spool=LayerSpool(kaniko_dir / "layers", options.snapshot), clock=clock,
        lexer=ShellLexer(dockerfile.escape), build_args=options.source.build_args,
        global_args=global_args, dockerfile_name=options.source.dockerfile.name,
        mounts=MountEnvironment(caches=kaniko_dir / "caches", scratch=kaniko_dir / "mounts",
                                secrets={s.id: s for s in options.source.secrets}, environ=env),
        extract_retries=options.registry.image_fs_extract_retry,
        base_images=base_image_cache(options.cache))
    # --cache: the layer cache reaches its repository through the clients made above
    stage_env = dataclasses.replace(stage_env, cache=step_cache(
        options.cache, options.output.destinations, stage_env.clients))
    plan = plan_stages(dockerfile, options.source.target, options.source.skip_unused_stages,
                       make_expander(stage_env.lexer, global_args, dockerfile))
    built = BuiltStages(dockerfile=dockerfile, store=kaniko_dir / "stages")
    check_before_build(options.output, stage_env.clients)
    try:
        for position, index in enumerate(plan.order):
            stage = dockerfile.stages[index]
            previous = None
            if position:  # moved aside now, deleted once this stage's base is in place
                previous = clean_root(options.root.root, stage_env.ignore, trash=kaniko_dir / "trash")
            log.info("building stage %d%s", index, f" ({stage.name})" if stage.name else "")
            built.images[index] = build_stage(stage, stage_env, built, previous_files=previous)
            if index in plan.keep_files:
                built.save_files(index, options.root.root, stage_env.ignore, options.root.sandboxed)
        warn_unused_build_args(options.source.build_args, _declared_args(dockerfile, plan.order))
        image = _finish_image(built.images[plan.target], options, clock)
        # zstd layers have no Docker schema2 media type: such an image is OCI (as kaniko's).
        image_format = "oci" if options.snapshot.compression == "zstd" else options.output.image_format
        serialized = serialize(image, image_format)
        write_outputs(image, serialized, options.output, stage_env.clients)
        log.info("built image %s", serialized.digest)
        return serialized.digest
    finally:
        for scratch in ("layers", "stages", "images", "trash"):
            shutil.rmtree(kaniko_dir / scratch, ignore_errors=True)
        if options.root.cleanup:  # failed or not, so the same container can build again
            clean_root(options.root.root, stage_env.ignore)
