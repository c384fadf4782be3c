"""``executor index``: put an image index of images already pushed, one per platform (the last
Job of a build scaled out to one node per architecture, see k8s/multi-platform.yaml)::

    executor index --destination reg/app:1.0 --from reg/app:1.0-amd64 --from reg/app:1.0-arm64

Each ``--from`` must be one image (not an index) whose config names a platform no other
``--from`` has; every manifest and blob is checked before anything is written."""

from __future__ import annotations

import argparse
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from executor.atomic import write_text_atomically
from executor.cli import registry_flags
from executor.cli.logs import LOG_FORMATS, configure_logging
from executor.cli.main import VERBOSITY_LEVELS, FlagParser, normalize_booleans
from executor.errors import UsageError
from executor.events import event
from executor.options import RegistryOptions
from executor.registry.index import assemble_index, push_assembled_index, read_source
from executor.registry.routing import RegistryClients

__all__ = ["IndexOptions", "build_parser", "parse_index_options", "run_index"]

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class IndexOptions:
    destinations: tuple[str, ...]
    sources: tuple[str, ...]
    annotations: dict[str, str]
    registry: RegistryOptions
    kaniko_dir: Path
    digest_file: Path | None = None
    verbosity: str = "info"
    log_format: str = "color"


def build_parser(env: Mapping[str, str]) -> argparse.ArgumentParser:
    parser = FlagParser(prog="executor index", allow_abbrev=False,
                        description="Push an image index of images already pushed, one per platform "
                        "(each --from an image whose config names its platform).")
    add = parser.add_argument
    add("-d", "--destination", action="append", default=[], required=True,
        help="where to put the index (repeatable)")
    add("--from", dest="sources", action="append", default=[], required=True, metavar="REF",
        help="an image the index names (repeatable; one per platform)")
    add("--annotation", action="append", default=[], metavar="K=V",
        help="annotation on the index (repeatable; makes it an OCI image index)")
    add("--digest-file", help="write the index's digest to this file")
    add("--kaniko-dir", default=env.get("KANIKO_DIR") or "/kaniko",
        help="where <kaniko-dir>/.docker/config.json holds credentials (default $KANIKO_DIR, else /kaniko)")
    add("--verbosity", "-v", default="info", type=str.lower, choices=sorted(VERBOSITY_LEVELS))
    add("--log-format", default="color", choices=LOG_FORMATS)
    add("--push-retry", type=int, default=0, help="extra retries of each push request")
    for flag, help_text in (("--insecure", "push to registries over plain HTTP"),
                            ("--insecure-pull", "read the images over plain HTTP"),
                            ("--skip-tls-verify", "push without verifying TLS certificates"),
                            ("--skip-tls-verify-pull", "read without verifying TLS certificates")):
        registry_flags.add_boolean(parser, flag, help_text)
    registry_flags.add_connection_flags(parser)
    # what registry_options reads of the executor's pull flags, which are no concern here
    parser.set_defaults(registry_mirror=[], registry_map=[], image_download_retry=0,
                        custom_platform=None, buildkit_platform=None,
                        skip_default_registry_fallback=False, image_fs_extract_retry=0)
    return parser


def parse_index_options(argv: Sequence[str], env: Mapping[str, str]) -> IndexOptions:
    args = build_parser(env).parse_args(normalize_booleans(argv))
    if len(args.sources) < 2:
        raise UsageError("executor index needs at least two --from images, one per platform")
    return IndexOptions(
        destinations=tuple(args.destination), sources=tuple(args.sources),
        annotations=registry_flags.annotation_values(args.annotation),
        registry=registry_flags.registry_options(args, env),
        kaniko_dir=Path(args.kaniko_dir).absolute(),
        digest_file=Path(args.digest_file).absolute() if args.digest_file else None,
        verbosity=args.verbosity, log_format=args.log_format)


def run_index(argv: Sequence[str], env: Mapping[str, str]) -> int:
    """Read every source (platform, manifest, blobs), then push the index; 0 when pushed."""
    options = parse_index_options(argv, env)
    configure_logging(options.log_format, False, VERBOSITY_LEVELS[options.verbosity])
    clients = RegistryClients.create(options.registry, options.kaniko_dir, env)
    sources = [read_source(source, clients) for source in options.sources]
    index = assemble_index(sources, options.annotations)
    push_assembled_index(index, sources, options.destinations, clients)
    if options.digest_file:
        write_text_atomically(options.digest_file, index.digest)
    log.info("index digest %s (%s)", index.digest, ", ".join(str(s.platform) for s in sources),
             extra=event("index.pushed", digest=index.digest,
                         images={str(s.platform): s.manifest.digest for s in sources}))
    return 0
