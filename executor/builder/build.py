"""A whole build: options in, image pushed / written, digest out."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from pathlib import Path

from executor.builder.environment import BuildEnvironment
from executor.builder.plan import make_expander, plan_stages
from executor.builder.stage import build_stage
from executor.builder.stages import BuiltStages
from executor.clock import Clock, epoch, utc_now
from executor.contexts import fetch_context
from executor.dockerfile import Dockerfile, parse_dockerfile
from executor.dockerfile.args import warn_unused_build_args
from executor.errors import UsageError
from executor.events import event
from executor.image import Image, serialize
from executor.options import ExecutorOptions
from executor.outputs import check_before_build, write_outputs
from executor.rootfs.clean import clean_root
from executor.rootfs.root import check_root
from executor.sandbox.processes import make_undumpable
from snapshot.rootfs import SymlinkLoop, resolve_in_root

log = logging.getLogger("lamina")

_SCRATCH_DIRS = ("layers", "stages", "images", "trash")  # under the kaniko dir, removed at the end


def read_dockerfile(path: Path, context: Path | None = None) -> Dockerfile:
    """The Dockerfile at ``path``; one inside ``context`` is resolved there, as every file read
    from the context is, so a link in a merge request cannot make us read a host file."""
    where = path
    if context is not None and path.is_relative_to(context):
        try:
            where = resolve_in_root(context, str(path.relative_to(context)))
        except SymlinkLoop:
            raise UsageError(f"Dockerfile {path}: too many levels of symbolic links") from None
    try:
        # BuildKit reads the bytes as they are: a line that is not UTF-8 keeps its bytes
        text = where.read_text(encoding="utf-8", errors="surrogateescape")
    except FileNotFoundError:
        raise UsageError(f"Dockerfile {path} does not exist") from None
    except (IsADirectoryError, PermissionError) as error:
        raise UsageError(f"cannot read Dockerfile {path}: {error}") from None
    return parse_dockerfile(text, name=path.name)


def _declared_args(dockerfile: Dockerfile, stages: tuple[int, ...]) -> set[str]:
    names: set[str] = set()
    for instruction in [*dockerfile.global_args,
                        *(i for index in stages for i in dockerfile.stages[index].instructions)]:
        if instruction.keyword == "ARG":
            names.update(word.split("=", 1)[0] for word in instruction.words)
    return names


def _finish_image(image: Image, options: ExecutorOptions, clock: Clock) -> Image:
    run_config = image.run_config
    if options.source.labels:
        run_config["Labels"] = {**(run_config.get("Labels") or {}), **options.source.labels}
    return image.with_run_config(run_config).with_config_values(created=clock())


def execute(options: ExecutorOptions, clock: Clock = utc_now,
            env: Mapping[str, str] | None = None) -> str:
    """Build the Dockerfile; push, write the tarball and digest files; return the image digest."""
    environ = dict(os.environ) if env is None else env
    make_undumpable()  # credentials in this process's memory and environment stay out of RUN's reach
    if options.snapshot.reproducible:
        clock = epoch
    check_root(options.root)
    # A remote context or Dockerfile URL lands under the kaniko dir, where the options point.
    fetch_context(options.source.fetch, environ)
    dockerfile = read_dockerfile(options.source.dockerfile, options.source.context)
    build = BuildEnvironment.create(options, dockerfile, clock, environ)
    build.kaniko_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if options.root.sandboxed:
        os.chmod(build.kaniko_dir, 0o700)  # credentials, secrets and caches: root's alone
    build.root.mkdir(parents=True, exist_ok=True)
    plan = plan_stages(dockerfile, options.source.target, options.source.skip_unused_stages,
                       make_expander(build.lexer, build.global_args, dockerfile))
    built = BuiltStages(dockerfile=dockerfile, store=build.stages_dir)
    check_before_build(options.output, build.clients)
    if options.root.pre_cleanup:  # --pre-cleanup: what the executor's own image holds stays out
        clean_root(build.root, build.ignore)
    try:
        for position, index in enumerate(plan.order):
            stage = dockerfile.stages[index]
            previous = None
            if position:  # moved aside now, deleted once this stage's base is in place
                previous = clean_root(build.root, build.ignore, trash=build.trash_dir)
            log.info("building stage %d%s", index, f" ({stage.name})" if stage.name else "",
                     extra=event("stage.start", index=index, name=stage.name))
            built.results[index] = build_stage(stage, build, built, previous_files=previous)
            if index in plan.keep_files:
                built.save_files(index, build.root, build.ignore, options.root.sandboxed)
        warn_unused_build_args(options.source.build_args, _declared_args(dockerfile, plan.order))
        image = _finish_image(built.results[plan.target].image, options, clock)
        # zstd layers have no Docker schema2 media type: such an image is OCI (as kaniko's).
        image_format = "oci" if options.snapshot.compression == "zstd" else options.output.image_format
        serialized = serialize(image, image_format, options.output.annotations)
        write_outputs(image, serialized, options.output, build.clients)
        log.info("built image %s", serialized.digest, extra=event("image.built", digest=serialized.digest))
        return serialized.digest
    finally:
        build.runner.close()
        for scratch in _SCRATCH_DIRS:
            shutil.rmtree(build.kaniko_dir / scratch, ignore_errors=True)
        if options.root.cleanup:  # failed or not, so the same container can build again
            clean_root(build.root, build.ignore)
