"""The executor's options, grouped by concern into small frozen dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class SourceOptions:
    """Where the Dockerfile and its context come from."""

    context: Path
    dockerfile: Path
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RootOptions:
    """Which directory is the build root and where the executor keeps its own files."""

    root: Path = Path("/")
    kaniko_dir: Path = Path("/kaniko")
    force: bool = False
    ignore_paths: tuple[str, ...] = ()
    ignore_var_run: bool = True

    @property
    def sandboxed(self) -> bool:
        return self.root != Path("/")


@dataclass(frozen=True)
class RegistryOptions:
    """How registries are reached (kaniko's --insecure*, --skip-tls-verify*)."""

    insecure: bool = False
    insecure_pull: bool = False
    skip_tls_verify: bool = False
    skip_tls_verify_pull: bool = False
    retries: int = 3


@dataclass(frozen=True)
class OutputOptions:
    """Where the finished image goes."""

    destinations: tuple[str, ...] = ()
    no_push: bool = False
    tar_path: Path | None = None
    digest_file: Path | None = None
    image_format: str = "docker"


@dataclass(frozen=True)
class ExecutorOptions:
    source: SourceOptions
    root: RootOptions
    registry: RegistryOptions
    output: OutputOptions
    verbosity: str = "info"
