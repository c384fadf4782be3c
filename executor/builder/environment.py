"""What every stage of one build shares, made once from the options before the first stage."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from executor.builder.spool import LayerSpool
from executor.cache import StepCache, step_cache
from executor.cache.base_images import BaseImageCache, base_image_cache
from executor.clock import Clock
from executor.commands.mounts import MountEnvironment
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import Dockerfile, ShellLexer
from executor.dockerfile.args import global_arg_values
from executor.options import ExecutorOptions
from executor.registry.routing import RegistryClients
from executor.rootfs.root import ignore_list
from executor.sandbox.runner import ChrootRunner, CommandRunner, HostRunner
from snapshot.ignore import IgnoreList


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
            files=BuildContextFiles.load(options.source.context), runner=_runner(options),
            clients=clients, spool=LayerSpool(kaniko_dir / "layers", options.snapshot),
            clock=clock, lexer=ShellLexer(dockerfile.escape),
            build_args=options.source.build_args,
            global_args=global_arg_values(dockerfile, options.source.build_args),
            dockerfile_name=options.source.dockerfile.name,
            mounts=MountEnvironment(caches=kaniko_dir / "caches", scratch=kaniko_dir / "mounts",
                                    secrets={s.id: s for s in options.source.secrets},
                                    environ=environ),
            # --cache: the layer cache reaches its repository through the same clients
            cache=step_cache(options.cache, options.output.destinations, clients),
            base_images=base_image_cache(options.cache),
            extract_retries=options.registry.image_fs_extract_retry)


def _runner(options: ExecutorOptions) -> CommandRunner:
    scratch = options.root.kaniko_dir / "sandbox"
    if options.root.sandboxed:
        network = "sandbox" if options.root.network == "default" else options.root.network
        return ChrootRunner(root=options.root.root, scratch=scratch, network=network)
    return HostRunner(scratch=scratch)
