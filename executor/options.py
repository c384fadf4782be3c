"""The executor's options, grouped by concern into small frozen dataclasses."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from executor.contexts import ContextFetch
from executor.contexts.named import NamedContext

# The credential helpers of the maintained kaniko fork's --credential-helpers, all on by default.
CREDENTIAL_HELPERS = ("env", "google", "ecr", "acr", "gitlab")


@dataclass(frozen=True)
class SecretSource:
    """``--secret id=ID,src=FILE`` or ``--secret id=ID,env=VAR``: where RUN --mount=type=secret
    finds a secret's bytes. Only the location is kept; the bytes are read when a RUN needs them."""

    id: str
    path: Path | None = None
    env: str | None = None


@dataclass(frozen=True)
class SshSource:
    """``--ssh ID[=SOCKET|KEY[,KEY...]]`` (buildx's): what RUN --mount=type=ssh,id=ID reaches, an
    ssh-agent's socket (``default``: $SSH_AUTH_SOCK) or private key files lamina's own agent serves.
    Only the paths are kept; a key is read when a RUN needs it."""

    id: str
    socket: Path | None = None
    keys: tuple[Path, ...] = ()


@dataclass(frozen=True)
class SourceOptions:
    """Where the Dockerfile and its context come from."""

    context: Path
    dockerfile: Path
    build_args: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str | None = None
    skip_unused_stages: bool = True
    secrets: tuple[SecretSource, ...] = ()
    ssh: tuple[SshSource, ...] = ()
    # A remote context (tar://, gs://, s3://, git://, https://) or Dockerfile URL, fetched to
    # ``context`` / ``dockerfile`` before the build; None when both are local already.
    fetch: ContextFetch | None = None
    named_contexts: tuple[NamedContext, ...] = ()  # --build-context NAME=VALUE


@dataclass(frozen=True)
class RootOptions:
    """Which directory is the build root and where the executor keeps its own files."""

    root: Path = Path("/")
    kaniko_dir: Path = Path("/kaniko")
    force: bool = False
    ignore_paths: tuple[str, ...] = ()
    ignore_var_run: bool = True
    cleanup: bool = False  # --cleanup: wipe the root (all but ignored paths) when the build ends
    pre_cleanup: bool = False  # --pre-cleanup: ... and before the first stage (the fork's flag)
    network: str = "default"  # --network: default (sandbox: a namespace of its own), host, none
    require_confinement: bool = False  # --require-confinement: no Landlock is an error, not a warning
    confine_run: bool = True  # --confine-run=false: RUN beside the executor unconfined, as kaniko

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
    retries: int = 3  # transient-fault retries of each request (urllib3, on the session)
    # per registry host (kaniko's --insecure-registry, --skip-tls-verify-registry,
    # --registry-certificate, --registry-client-cert); they apply to pulls and pushes alike
    insecure_registries: frozenset[str] = frozenset()
    skip_tls_verify_registries: frozenset[str] = frozenset()
    certificates: Mapping[str, Path] = field(default_factory=dict)
    client_certificates: Mapping[str, tuple[Path, Path]] = field(default_factory=dict)
    # pull routing: registry host -> replacements tried in order ("host" or "host/path/prefix")
    registry_maps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    skip_default_registry_fallback: bool = False
    push_retry: int = 0  # extra whole-request retries for pushes (kaniko's --push-retry)
    image_download_retry: int = 0  # ... for pulls (--image-download-retry)
    image_fs_extract_retry: int = 0  # re-extractions of a base image that failed midway
    # the platform whose image pulls select from an index (os/arch[/variant]): --custom-platform's,
    # and in a multi-platform build each of PlatformOptions.targets in turn
    platform: tuple[str, ...] = ("linux", "amd64")
    # --credential-helpers (the fork's): which built-in helpers the keychain may ask, in order;
    # () when the flag was given as "" (only config.json then)
    credential_helpers: tuple[str, ...] = CREDENTIAL_HELPERS


@dataclass(frozen=True)
class OutputOptions:
    """Where the finished image goes."""

    destinations: tuple[str, ...] = ()
    no_push: bool = False
    tar_path: Path | None = None
    digest_file: Path | None = None
    image_format: str = "docker"
    oci_layout_path: Path | None = None
    image_name_with_digest_file: Path | None = None
    image_name_tag_with_digest_file: Path | None = None
    skip_push_permission_check: bool = False
    annotations: Mapping[str, str] = field(default_factory=dict)  # --annotation: on the manifest
    index_annotations: Mapping[str, str] = field(default_factory=dict)  # --annotation index:K=V
    # --push-ignore-immutable-tag-errors: a registry refusing to move an immutable tag is a warning
    push_ignore_immutable_tag_errors: bool = False
    sbom: bool = False  # --sbom: an SPDX 2.3 JSON document of the final root's packages
    provenance: str = ""  # --provenance: "" (none), "min" (build arg names) or "max" (and values)


@dataclass(frozen=True)
class CacheOptions:
    """kaniko's caches: cached RUN (and optionally COPY) layers in a registry repository or a
    local OCI layout (``oci:/path``), and base images the warmer put in ``--cache-dir``."""

    enabled: bool = False
    repo: str | None = None  # None: "<first destination's repository>/cache", as kaniko does
    ttl_seconds: float = 336 * 3600.0  # kaniko's default --cache-ttl 336h (two weeks)
    run_layers: bool = True
    copy_layers: bool = False
    push: bool = True  # False: --no-push-cache (read the cache, never write it)
    dir: Path | None = None  # --cache-dir: base images by manifest digest (the warmer's)


@dataclass(frozen=True)
class SnapshotOptions:
    """How the root is snapshotted and layers are written (kaniko's --snapshot-mode,
    --single-snapshot, --compression, --compression-level, --reproducible) and lamina's
    --source-date-epoch / SOURCE_DATE_EPOCH."""

    mode: str = "full"  # full | redo | time
    single_snapshot: bool = False
    compression: str = "gzip"  # gzip | zstd
    compression_level: int | None = None  # None: the format's default
    reproducible: bool = False  # kaniko's: every layer timestamp 0, created the epoch
    # BuildKit's rewrite-timestamp: layer timestamps newer than it clamped to it, created it
    source_date_epoch: int | None = None


@dataclass(frozen=True)
class PlatformOptions:
    """--custom-platform / --platform: the platforms to build for, each os/arch[/variant]. One is
    a single image, as kaniko's; more are built one after another and pushed under one image
    index. ``build`` is the machine's own (BUILDPLATFORM; what runs without emulation)."""

    targets: tuple[tuple[str, ...], ...] = ()  # (): RegistryOptions.platform alone
    build: tuple[str, ...] = ("linux", "amd64")

    @property
    def multiple(self) -> bool:
        return len(self.targets) > 1


@dataclass(frozen=True)
class ExecutorOptions:
    source: SourceOptions
    root: RootOptions
    registry: RegistryOptions
    output: OutputOptions
    verbosity: str = "info"
    log_format: str = "text"  # --log-format text|color|json
    log_timestamp: bool = False  # --log-timestamp
    cache: CacheOptions = field(default_factory=CacheOptions)
    snapshot: SnapshotOptions = field(default_factory=SnapshotOptions)
    platforms: PlatformOptions = field(default_factory=PlatformOptions)
