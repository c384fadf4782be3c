"""A whole build: options in, image pushed / written, digest out."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from executor.builder.emulation import BINFMT_DIR, BINFMT_DIR_SWITCH, check_emulation
from executor.builder.environment import BuildEnvironment
from executor.builder.finish import build_clock, finish_image, image_facts, source_facts, with_source_date_arg
from executor.builder.platforms import TargetPlan, plan_targets, run_platforms
from executor.builder.stage import build_stage
from executor.builder.stages import BuiltStages
from executor.clock import Clock, utc_now
from executor.contexts import fetch_context
from executor.dockerfile import Dockerfile, parse_dockerfile
from executor.dockerfile.args import warn_unused_build_args
from executor.errors import UsageError
from executor.events import event
from executor.image import Image, ImageIndex, Platform, PlatformImage, serialize
from executor.image.annotations import ImageFacts, image_annotations, index_annotations
from executor.options import ExecutorOptions
from executor.outputs import check_before_build, write_attestations, write_index_outputs, write_outputs
from executor.rootfs.clean import clean_root
from executor.rootfs.root import check_root
from executor.sandbox.processes import make_undumpable
from snapshot.rootfs import SymlinkLoop, resolve_in_root

log = logging.getLogger("lamina")

# under the kaniko dir, removed at the end
_SCRATCH_DIRS = ("layers", "stages", "images", "trash", "emulation", "named")


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
        raise UsageError(f"Dockerfile {path} does not exist: give --dockerfile its path in the "
                         f"context (or an absolute one), or check --context") from None
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


def _for_platform(image: Image, platform: Platform) -> Image:
    """An image of a multi-platform build, its config naming the platform its index entry does:
    the base's os and architecture (a base for another platform is kept, with BuildKit's
    warning), the variant filled in where the base left it out."""
    said = Platform.of_config(image.config)
    if (said.os, said.architecture) != (platform.os, platform.architecture):
        log.warning("the image for %s is built FROM a base image for %s (its config says so): it "
                    "will not run on %s", platform, said, platform)
        return image
    if platform.variant and said.variant != platform.variant:
        return image.with_config_values(variant=platform.variant)
    return image


def execute(options: ExecutorOptions, clock: Clock = utc_now,
            env: Mapping[str, str] | None = None) -> str:
    """Build the Dockerfile; push, write the tarball and digest files; return the image digest
    (with several platforms, the digest of their index)."""
    environ = dict(os.environ) if env is None else env
    make_undumpable()  # credentials in this process's memory and environment stay out of RUN's reach
    # Docker's (runc's) umask: the executor's own never reaches the modes of COPY's directories
    # or what RUN creates, so a build does not depend on the shell it was started from
    umask = os.umask(0o022)
    try:
        return _execute(options, build_clock(options, clock), environ)
    finally:
        os.umask(umask)


def _execute(options: ExecutorOptions, clock: Clock, environ: Mapping[str, str]) -> str:
    given_args = options.source.build_args
    options = with_source_date_arg(options)
    check_index_annotations(options)
    check_root(options.root)
    # A remote context or Dockerfile URL lands under the kaniko dir, where the options point.
    fetch_context(options.source.fetch, environ)
    dockerfile = read_dockerfile(options.source.dockerfile, options.source.context)
    build = BuildEnvironment.create(options, dockerfile, clock, environ)
    build.kaniko_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if options.root.sandboxed:
        os.chmod(build.kaniko_dir, 0o700)  # credentials, secrets and caches: root's alone
    build.root.mkdir(parents=True, exist_ok=True)
    host = Platform.of(options.platforms.build)
    targets = [Platform.of(p) for p in options.platforms.targets or (options.registry.platform,)]
    plans = plan_targets(dockerfile, targets, host, build.lexer, options.source)
    # before anything is pulled: a RUN for a platform this machine cannot run stops the build here
    check_emulation(run_platforms(plans, dockerfile), host,
                    Path(environ.get(BINFMT_DIR_SWITCH) or BINFMT_DIR), build.kaniko_dir / "emulation")
    check_before_build(options.output, build.clients)
    if options.root.pre_cleanup:  # --pre-cleanup: what the executor's own image holds stays out
        clean_root(build.root, build.ignore)
    try:
        builds = _TargetBuilds(dockerfile, build, options.root.sandboxed, len(plans) > 1)
        images = [finish_image(builds.build(plan), options, clock) for plan in plans]
        declared = set().union(*(_declared_args(dockerfile, plan.stages.order) for plan in plans))
        warn_unused_build_args(given_args, declared)
        source = source_facts(options, environ)
        if len(plans) > 1:
            return _write_index(plans, images, options, build, source)
        serialized = serialize(images[0], _image_format(options),
                               _annotations(images[0], source, options))
        write_outputs(images[0], serialized, options.output, build.clients)
        # --sbom / --provenance: the root still holds the final stage's files here
        write_attestations(build.root, build.ignore, serialized, options, dockerfile.stages,
                           str(plans[0].target), build.clients, images[0].config["created"])
        log.info("built image %s", serialized.digest,
                 extra=event("image.built", digest=serialized.digest))
        return serialized.digest
    finally:
        build.runner.close()
        for scratch in _SCRATCH_DIRS:
            shutil.rmtree(build.kaniko_dir / scratch, ignore_errors=True)
        if options.root.cleanup:  # failed or not, so the same container can build again
            clean_root(build.root, build.ignore)


def _annotations(image: Image, source: ImageFacts, options: ExecutorOptions) -> dict[str, str]:
    return image_annotations(image.config["created"], image_facts(image, source),
                             options.output.annotations)


def _write_index(plans: list[TargetPlan], images: list[Image], options: ExecutorOptions,
                 build: BuildEnvironment, source: ImageFacts) -> str:
    """A multi-platform build's outputs: its images under one index; the index digest."""
    image_format = _image_format(options)
    children = []
    for plan, image in zip(plans, images):
        image = _for_platform(image, plan.target)
        children.append(PlatformImage(plan.target, image,
                                      serialize(image, image_format, _annotations(image, source, options))))
    # made when its last image was; a Docker manifest list has no annotations (and
    # check_index_annotations let none be asked for one)
    index = ImageIndex.of(children, index_annotations(images[-1].config["created"], source,
                                                      options.output.index_annotations)
                          if image_format == "oci" else None)
    write_index_outputs(index, options.output, build.clients)
    log.info("built an index of %d images %s", len(children), index.digest,
             extra=event("image.built", digest=index.digest,
                         images={str(c.platform): c.serialized.digest for c in children}))
    return index.digest


def _image_format(options: ExecutorOptions) -> str:
    # zstd layers have no Docker schema2 media type: such an image is OCI (as kaniko's).
    return "oci" if options.snapshot.compression == "zstd" else options.output.image_format


def check_index_annotations(options: ExecutorOptions) -> None:
    """``--annotation index:`` needs an index to go on, and one that has annotations."""
    wanted = options.output.index_annotations
    if not wanted:
        return
    first = next(iter(wanted))
    if not options.platforms.multiple:
        raise UsageError(f"--annotation index:{first}: a build for one platform makes no index; "
                         "leave out the index: prefix to annotate the image manifest")
    if _image_format(options) != "oci":
        raise UsageError(f"--annotation index:{first}: a Docker manifest list has no annotations; "
                         "add --image-format oci for an OCI image index")


@dataclass
class _TargetBuilds:
    """The target platforms' builds, one after another on the one root: a stage built for an
    earlier target whose key (``TargetPlan.keys``) comes again is taken as it is, not rebuilt."""

    dockerfile: Dockerfile
    env: BuildEnvironment
    sandboxed: bool
    multiple: bool  # more than one target platform
    done: dict[str, tuple[BuiltStages, Platform]] = field(default_factory=dict)
    root_used: bool = False  # whether the root holds a stage's files (wiped before the next)

    def build(self, plan: TargetPlan) -> Image:
        """The target stage's image for ``plan.target``."""
        build = self.env
        env = replace(build, clients=build.clients.for_platform(plan.target.as_tuple()),
                      global_args=plan.global_args)
        built = BuiltStages(dockerfile=self.dockerfile, store=build.stages_dir / plan.slug)
        for index in plan.stages.order:
            stage = self.dockerfile.stages[index]
            if self._take_shared(plan, index, built):
                continue
            previous = None
            if self.root_used:  # moved aside now, deleted once this stage's base is in place
                previous = clean_root(build.root, build.ignore, trash=build.trash_dir)
            platform = plan.platforms[index]
            where = f" for {plan.target}" if self.multiple else ""
            if platform != plan.target:
                where += f" (it runs as {platform})"
            log.info("building stage %d%s%s", index, f" ({stage.name})" if stage.name else "", where,
                     extra=event("stage.start", index=index, name=stage.name, platform=str(platform),
                                 target=str(plan.target)))
            built.results[index] = build_stage(stage, env, built, previous_files=previous,
                                               platform=platform)
            self.root_used = True
            if index in plan.stages.keep_files:
                built.save_files(index, build.root, build.ignore, self.sandboxed)
            self.done[plan.keys[index]] = (built, plan.target)
        return built.results[plan.stages.target].image

    def _take_shared(self, plan: TargetPlan, index: int, built: BuiltStages) -> bool:
        """Take stage ``index`` from the earlier target that built it, if one did (and kept its
        files, when this target's later stages read them)."""
        found = self.done.get(plan.keys[index])
        if found is None:
            return False
        donor, platform = found
        kept = index in donor.files or index in donor.unextracted
        if index in plan.stages.keep_files and not kept:
            return False
        built.results[index] = donor.results[index]
        if index in donor.files:
            built.files[index] = donor.files[index]
        if index in donor.unextracted:
            built.unextracted[index] = donor.unextracted[index]
        stage = self.dockerfile.stages[index]
        log.info("stage %d%s for %s: the same as for %s (it runs as %s and reads nothing of the "
                 "target), built once", index, f" ({stage.name})" if stage.name else "", plan.target,
                 platform, plan.platforms[index],
                 extra=event("stage.shared", index=index, name=stage.name, target=str(plan.target),
                             built_for=str(platform)))
        return True
