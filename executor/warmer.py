"""``warmer``: kaniko's cache warmer. It pulls base images into a cache directory (default
``/cache``) that ``executor --cache-dir`` reads instead of downloading their layers again."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from executor.builder.build import read_dockerfile
from executor.builder.plan import make_expander
from executor.cache.base_images import BaseImageCache
from executor.cli import VERBOSITY_LEVELS, FlagParser, key_values, normalize_booleans, registry_flags, run_cli
from executor.contexts.web import download_dockerfile
from executor.dockerfile import Dockerfile, ShellLexer
from executor.dockerfile.args import global_arg_values
from executor.errors import LaminaError, UsageError
from executor.options import RegistryOptions
from executor.outputs import tarball_tags
from executor.registry import parse_reference
from executor.registry.pull import pull_image
from executor.registry.routing import RegistryClients

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class WarmerOptions:
    images: tuple[str, ...]
    cache: BaseImageCache
    force: bool
    registry: RegistryOptions
    verbosity: str = "info"
    # --custom-platform/--platform with several platforms: each image is warmed for each
    platforms: tuple[tuple[str, ...], ...] = ()


def build_parser() -> argparse.ArgumentParser:
    parser = FlagParser(prog="warmer", description="Pull base images into a cache directory that "
                     "executor --cache-dir reads (kaniko's warmer).", allow_abbrev=False)
    add = parser.add_argument
    add("-i", "--image", action="append", default=[], help="image to cache (repeatable)")
    add("-d", "--dockerfile",
        help="also cache every stage's base image of this Dockerfile (a path or http(s) URL)")
    add("--build-arg", action="append", default=[],
        help="K=V (or K from the environment) for the Dockerfile's ARGs before its first FROM")
    add("-f", dest="force", action="store_true", help=argparse.SUPPRESS)  # ... and --force
    add("--verbosity", "-v", default="info", choices=sorted(VERBOSITY_LEVELS), help="log level")
    for flag, help_text in (
        ("--force", "write an image again even if the cache holds it and it has not expired"),
        ("--insecure", "as --insecure-pull"),
        ("--insecure-pull", "pull from registries over plain HTTP"),
        ("--skip-tls-verify", "as --skip-tls-verify-pull"),
        ("--skip-tls-verify-pull", "pull without verifying TLS certificates"),
    ):
        registry_flags.add_boolean(parser, flag, help_text)
    add("-c", "--cache-dir", default="/cache", help="the cache directory (default /cache)")
    add("--cache-ttl", default="336h", help="write an image again once it is older than this")
    registry_flags.add_registry_flags(parser)  # the executor's registry, TLS and routing flags
    return parser


def parse_options(argv: Sequence[str], env: Mapping[str, str]) -> WarmerOptions:
    args = build_parser().parse_args(normalize_booleans(argv))
    if not args.image and not args.dockerfile:
        raise UsageError("nothing to warm: give at least one --image or a --dockerfile")
    images = list(args.image)
    if args.dockerfile:
        build_args = key_values(args.build_arg, "--build-arg", env)
        images += dockerfile_images(args.dockerfile, build_args)
    if not images:
        raise UsageError(f"{args.dockerfile} names no base image to warm (only scratch or stages)")
    ttl = registry_flags.parse_duration(args.cache_ttl)
    registry = registry_flags.registry_options(args, env)
    # the warmer only pulls: --insecure and --skip-tls-verify mean the pull flags
    registry = dataclasses.replace(
        registry, insecure_pull=registry.insecure_pull or registry.insecure,
        skip_tls_verify_pull=registry.skip_tls_verify_pull or registry.skip_tls_verify)
    return WarmerOptions(images=tuple(dict.fromkeys(images)),
                         cache=BaseImageCache(Path(args.cache_dir).absolute(), ttl),
                         force=args.force, registry=registry, verbosity=args.verbosity,
                         platforms=registry_flags.target_platforms(args))


def dockerfile_images(spec: str, build_args: Mapping[str, str]) -> list[str]:
    """The images the stages of a Dockerfile (a path or an http(s) URL) are built FROM, global
    ARGs substituted, leaving out ``scratch`` and earlier stages."""
    dockerfile = _read_dockerfile(spec)
    expand = make_expander(ShellLexer(dockerfile.escape), global_arg_values(dockerfile, build_args),
                           dockerfile)
    images = []
    for stage in dockerfile.stages:
        name = expand(stage.base)
        if name.lower() != "scratch" and dockerfile.earlier_stage(name, stage.index) is None:
            images.append(name)
    return images


def _read_dockerfile(spec: str) -> Dockerfile:
    if not spec.startswith(("https://", "http://")):
        return read_dockerfile(Path(spec).absolute())
    with tempfile.TemporaryDirectory(prefix="warmer-") as directory:
        path = Path(directory) / "Dockerfile"
        download_dockerfile(spec, path)
        return read_dockerfile(path)


def warm(image: str, clients: RegistryClients, cache: BaseImageCache, force: bool) -> None:
    """Put ``image`` (its manifest for the platform) in the cache, unless it is there, fresh,
    and not ``force``."""
    pulled = clients.pull_manifest(parse_reference(image))
    digest = pulled.manifest.digest
    if not force and cache.is_fresh(digest):
        log.info("%s (%s) is already in the cache; not written again (use --force to)", image,
                 digest)
        return
    config, pulled_image = pull_image(image, pulled)
    path = cache.store(pulled.manifest, config, pulled_image.layers, tarball_tags([image]))
    log.info("cached %s as %s", image, path)


def warm_all(options: WarmerOptions, clients: RegistryClients) -> None:
    """Warm every image; as kaniko's warmer, fail only if none could be warmed."""
    failures: list[Exception] = []
    wanted = [(image, platform) for image in options.images
              for platform in options.platforms or (options.registry.platform,)]
    for image, platform in wanted:
        try:
            warm(image, clients.for_platform(platform), options.cache, options.force)
        except (LaminaError, OSError) as error:
            if len(wanted) == 1:
                raise
            log.warning("could not warm %s for %s: %s", image, "/".join(platform), error)
            failures.append(error)
    if failures and len(failures) == len(wanted):
        raise LaminaError(f"none of the {len(failures)} images could be warmed; the first: "
                          f"{failures[0]}")


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv

    def warm_images() -> int:
        options = parse_options(argv, os.environ)
        logging.getLogger().setLevel(VERBOSITY_LEVELS[options.verbosity])
        kaniko_dir = Path(os.environ.get("KANIKO_DIR", "/kaniko"))  # <kaniko-dir>/.docker
        warm_all(options, RegistryClients.create(options.registry, kaniko_dir, os.environ))
        return 0

    return run_cli(warm_images)


if __name__ == "__main__":
    sys.exit(main())
