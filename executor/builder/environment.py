"""What every stage of one build shares, made once from the options before the first stage."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from executor.builder.named_contexts import NamedContexts
from executor.builder.spool import LayerSpool
from executor.cache import StepCache, step_cache
from executor.cache.base_images import BaseImageCache, base_image_cache
from executor.clock import Clock
from executor.commands.mounts import MountEnvironment
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import Dockerfile, ShellLexer
from executor.dockerfile.args import global_arg_values
from executor.errors import UsageError
from executor.options import ExecutorOptions, SnapshotOptions
from executor.registry.routing import RegistryClients
from executor.rootfs.root import ignore_list
from executor.sandbox import landlock
from executor.sandbox.bundle import BundleSeal
from executor.sandbox.runner import ChrootRunner, CommandRunner, Confinement, HostRunner
from snapshot.ignore import IgnoreList

log = logging.getLogger("lamina")

# Tests only: behave as on a kernel without Landlock (the warning, --require-confinement's error).
NO_LANDLOCK_SWITCH = "LAMINA_TEST_NO_LANDLOCK"


@dataclass(frozen=True)
class BuildEnvironment:
    """The root, the context, the runner, the registries and the caches of one build."""

    root: Path
    kaniko_dir: Path
    ignore: IgnoreList
    files: BuildContextFiles
    runner: CommandRunner
    clients: RegistryClients
    spool: LayerSpool
    clock: Clock
    lexer: ShellLexer
    build_args: Mapping[str, str]
    global_args: Mapping[str, str | None]
    dockerfile_name: str
    mounts: MountEnvironment  # RUN --mount secrets and caches
    cache: StepCache | None  # --cache: layers of earlier builds, by step key
    base_images: BaseImageCache | None  # --cache-dir: the warmer's base images
    extract_retries: int  # --image-fs-extract-retry
    named: NamedContexts  # --build-context NAME=VALUE

    @property
    def images_dir(self) -> Path:
        """Where images named by ``--from`` are extracted once."""
        return self.kaniko_dir / "images"

    @property
    def stages_dir(self) -> Path:
        """Where the roots of stages that later ``--from``s read are kept."""
        return self.kaniko_dir / "stages"

    @property
    def trash_dir(self) -> Path:
        """Where a finished stage's root waits to be deleted (see ``rootfs.clean``)."""
        return self.kaniko_dir / "trash"

    @classmethod
    def create(cls, options: ExecutorOptions, dockerfile: Dockerfile, clock: Clock,
               environ: Mapping[str, str]) -> BuildEnvironment:
        kaniko_dir = options.root.kaniko_dir
        clients = RegistryClients.create(options.registry, kaniko_dir, environ)
        return cls(
            root=options.root.root, kaniko_dir=kaniko_dir, ignore=ignore_list(options.root),
            files=BuildContextFiles.for_dockerfile(options.source.context, options.source.dockerfile),
            runner=_runner(options, environ),
            clients=clients, spool=LayerSpool(kaniko_dir / "layers", options.snapshot),
            clock=clock, lexer=ShellLexer(dockerfile.escape),
            build_args=options.source.build_args,
            global_args=global_arg_values(dockerfile, options.source.build_args,
                                          options.registry.platform, options.platforms.build),
            dockerfile_name=options.source.dockerfile.name,
            mounts=MountEnvironment(caches=kaniko_dir / "caches", scratch=kaniko_dir / "mounts",
                                    secrets={s.id: s for s in options.source.secrets},
                                    ssh={s.id: s for s in options.source.ssh},
                                    environ=environ),
            # --cache: the layer cache reaches its repository through the same clients
            cache=step_cache(options.cache, options.output.destinations, clients,
                             _layer_timestamps(options.snapshot)),
            base_images=base_image_cache(options.cache),
            extract_retries=options.registry.image_fs_extract_retry,
            named=NamedContexts.of(options.source.named_contexts, kaniko_dir, environ))


def _layer_timestamps(options: SnapshotOptions) -> str:
    """How layer timestamps are written, for the cache key: cached layers are reused as they
    are (their digests are what the cache promises), so the rule is part of what they are."""
    if options.reproducible:
        return "epoch 0"
    if options.source_date_epoch is not None:
        return f"clamped to {options.source_date_epoch}"
    return ""


def _runner(options: ExecutorOptions, environ: Mapping[str, str]) -> CommandRunner:
    kaniko_dir = options.root.kaniko_dir
    scratch = kaniko_dir / "sandbox"
    if options.root.sandboxed:
        # the kaniko dir lies outside the root, which becomes the command's own /
        network = "sandbox" if options.root.network == "default" else options.root.network
        return ChrootRunner(root=options.root.root, scratch=scratch, network=network)
    if not options.root.confine_run:
        if options.root.require_confinement:
            raise UsageError("--require-confinement and --confine-run=false contradict each other")
        log.warning("RUN steps are not confined (--confine-run=false): they can read and change %s "
                    "(credentials, the executor)", kaniko_dir)
        return HostRunner(scratch=scratch, bundle=BundleSeal.take(kaniko_dir))
    abi = 0 if environ.get(NO_LANDLOCK_SWITCH) == "1" else landlock.abi_version()
    if abi == 0:
        if options.root.require_confinement:
            raise UsageError("--require-confinement: this kernel offers no Landlock, so RUN steps "
                             f"could read and change {kaniko_dir} (credentials, the executor)")
        log.warning("RUN steps are not confined: this kernel offers no Landlock, so they can read "
                    "and change %s (credentials, the executor); --require-confinement refuses "
                    "to build instead", kaniko_dir)
        return HostRunner(scratch=scratch, bundle=BundleSeal.take(kaniko_dir))
    log.info("RUN steps are confined by Landlock (ABI %d): %s is out of their reach", abi, kaniko_dir)
    return HostRunner(scratch=scratch, confinement=Confinement(kaniko_dir, tcp=abi >= 4),
                      bundle=BundleSeal.take(kaniko_dir))
