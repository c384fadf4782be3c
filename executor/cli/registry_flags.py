"""kaniko's registry, TLS, output and cache flags, parsed into their option dataclasses.

Kept apart from ``cli.py`` so the general flags and these concerns can change independently.
"""

from __future__ import annotations

import argparse
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from executor.cli import attestation_flags
from executor.errors import UsageError
from executor.options import CREDENTIAL_HELPERS, CacheOptions, OutputOptions, PlatformOptions, RegistryOptions

# kaniko booleans that also take "--flag=true|false" (cli.py normalizes those).
BOOLEAN_FLAGS = ("--skip-default-registry-fallback", "--skip-push-permission-check", "--cache",
                 "--cache-run-layers", "--cache-copy-layers", "--no-push-cache",
                 "--push-ignore-immutable-tag-errors")

KANIKO_CACHE_DIR = Path("/cache")  # the warmer's default, where kaniko looks for base images
_DOCKER_HUB_NAMES = {"docker.io": "index.docker.io", "registry-1.docker.io": "index.docker.io"}
_MACHINE_PLATFORMS = {
    "x86_64": ("linux", "amd64"), "amd64": ("linux", "amd64"), "aarch64": ("linux", "arm64"),
    "arm64": ("linux", "arm64"), "armv7l": ("linux", "arm", "v7"), "armv6l": ("linux", "arm", "v6"),
    "i386": ("linux", "386"), "i686": ("linux", "386"), "ppc64le": ("linux", "ppc64le"),
    "s390x": ("linux", "s390x"), "riscv64": ("linux", "riscv64"),
}
_GO_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_DURATION_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}


def add_registry_flags(parser: argparse.ArgumentParser) -> None:
    """The flags of pulling from registries: TLS, routing, retries, platform (executor, warmer)."""
    add_connection_flags(parser)
    add = parser.add_argument
    add("--registry-mirror", action="append", default=[], metavar="HOST[/PATH]",
        help="pull Docker Hub images from this mirror first (repeatable)")
    add("--registry-map", action="append", default=[], metavar="FROM=TO[;FROM=TO...]",
        help="pull images of registry FROM from TO first (repeatable)")
    add("--image-download-retry", type=int, default=0, help="extra retries of each pull request")
    add("--custom-platform", metavar="OS/ARCH[/VARIANT][,...]",
        help="the platform of the base images to pull and of the image (default this machine's); "
             "several, comma-separated, build one image each under one image index")
    add("--platform", dest="buildkit_platform", metavar="OS/ARCH[/VARIANT][,...]",
        help="BuildKit's spelling of --custom-platform")
    add_boolean(parser, "--skip-default-registry-fallback",
                "never fall back from mirrors to the original")
    parser.set_defaults(push_retry=0, image_fs_extract_retry=0)


def add_connection_flags(parser: argparse.ArgumentParser) -> None:
    """How registries are reached and who we are to them: per-registry TLS and plain HTTP, and
    the credential helpers (the executor, the warmer, ``executor index``)."""
    add = parser.add_argument
    add("--registry-certificate", action="append", default=[], metavar="REG=PATH",
        help="trust this CA bundle (in addition to the system's) for REG")
    add("--registry-client-cert", action="append", default=[], metavar="REG=CRT,KEY",
        help="present this client certificate to REG (mutual TLS)")
    add("--skip-tls-verify-registry", action="append", default=[], metavar="REG",
        help="do not verify REG's TLS certificate")
    add("--insecure-registry", action="append", default=[], metavar="REG",
        help="REG may be reached over plain HTTP")
    add("--credential-helpers", action="append", default=None, metavar="NAME",
        help=f"built-in credential helpers to use ({', '.join(CREDENTIAL_HELPERS)}; repeatable; "
             "default all, \"\" for none)")


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Every flag of this module: the registry flags, and the executor's push, output and cache
    flags."""
    add_registry_flags(parser)
    add = parser.add_argument
    add("--push-retry", type=int, default=0, help="extra retries of each push request")
    add("--image-fs-extract-retry", type=int, default=0,
        help="extract a base image again this many times if it fails midway")
    add("--image-format", choices=("docker", "oci"), default="docker",
        help="media types of the manifest and layers (never mixed)")
    add("--oci-layout-path", help="also write the image as an OCI image layout in this directory")
    add("--image-name-with-digest-file", help="write REPOSITORY@DIGEST per destination here")
    add("--image-name-tag-with-digest-file", help="write DESTINATION@DIGEST per destination here")
    add("--annotation", action="append", default=[], metavar="K=V",
        help="annotation set on the image manifest (repeatable)")
    add("--cache-repo", help="registry repository (or oci:/path) holding cached layers")
    add("--cache-ttl", default="336h", help="ignore cached layers older than this (Go duration)")
    add("--cache-dir", help="take base images from this directory (filled by the warmer) "
        "instead of downloading their layers")
    for flag, help_text in (
        ("--skip-push-permission-check", "do not check push permission before building"),
        ("--cache", "reuse layers of earlier builds from the cache repository"),
        ("--cache-run-layers", "cache RUN layers (default true)"),
        ("--cache-copy-layers", "cache COPY/ADD layers too"),
        ("--no-push-cache", "read the cache but do not write new layers to it"),
        ("--push-ignore-immutable-tag-errors", "a registry refusing to overwrite an immutable tag "
         "(ECR, Artifact Registry) is a warning, not a failure"),
    ):
        add_boolean(parser, flag, help_text)
    parser.set_defaults(cache_run_layers=True)


def add_boolean(parser: argparse.ArgumentParser, flag: str, help_text: str) -> None:
    """A kaniko boolean: ``--flag``, and the hidden ``--no-lamina-flag`` that cli.py rewrites
    ``--flag=false`` to."""
    dest = flag[2:].replace("-", "_")
    parser.add_argument(flag, dest=dest, action="store_true", help=help_text)
    parser.add_argument("--no-lamina-" + flag[2:], dest=dest, action="store_false",
                        help=argparse.SUPPRESS)


def normalize_registry(name: str) -> str:
    """``https://docker.io/`` -> ``index.docker.io``; a host (and path) as references spell it."""
    for scheme in ("https://", "http://"):
        if name.lower().startswith(scheme):
            name = name[len(scheme):]
    name = name.strip().rstrip("/")
    host, sep, path = name.partition("/")
    host = _DOCKER_HUB_NAMES.get(host.lower(), host)
    return f"{host}{sep}{path}"


def _pairs(values: Sequence[str], flag: str) -> list[tuple[str, str]]:
    found = []
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep or not value:
            raise UsageError(f"{flag} {item!r}: expected REGISTRY=VALUE")
        found.append((normalize_registry(key), value))
    return found


def _registry_maps(args: Any, env: Mapping[str, str]) -> dict[str, tuple[str, ...]]:
    maps: dict[str, list[str]] = {}
    # kaniko appends KANIKO_REGISTRY_MAP to the --registry-map flags, then the mirrors (the
    # --registry-mirror flags, then KANIKO_REGISTRY_MIRROR) as maps of Docker Hub: tried in order
    specs = [*args.registry_map, *([env["KANIKO_REGISTRY_MAP"]] if env.get("KANIKO_REGISTRY_MAP") else [])]
    for spec in specs:
        items = [item for item in spec.split(";") if item.strip()]
        for source, target in _pairs(items, "--registry-map"):
            maps.setdefault(source, []).append(normalize_registry(target))
    env_mirror = env.get("KANIKO_REGISTRY_MIRROR", "").strip()
    mirrors = [normalize_registry(m) for m in [*args.registry_mirror, *([env_mirror] if env_mirror else [])]]
    if mirrors:
        maps.setdefault("index.docker.io", []).extend(mirrors)
    return {k: tuple(dict.fromkeys(v)) for k, v in maps.items()}


def _credential_helpers(values: Sequence[str] | None) -> tuple[str, ...]:
    """The kaniko fork's --credential-helpers: not given, all of them; each value one name (a
    comma list is split too); "" names none, so ``--credential-helpers=""`` turns them all off.
    An unknown name is kept: the keychain skips it with a warning, as the fork does."""
    if values is None:
        return CREDENTIAL_HELPERS
    names = [name.strip().lower() for value in values for name in value.split(",") if name.strip()]
    return tuple(dict.fromkeys(names))


def host_platform(machine: str | None = None) -> tuple[str, ...]:
    """The platform of this machine as containerd normalizes it: kaniko's --custom-platform
    default (``uname -m`` x86_64 is linux/amd64, aarch64 linux/arm64, ...)."""
    machine = (machine if machine is not None else platform.machine()).lower()
    return _MACHINE_PLATFORMS.get(machine, ("linux", machine or "amd64"))


def target_platforms(args: Any) -> tuple[tuple[str, ...], ...]:
    """--custom-platform (kaniko's) or --platform (BuildKit's): one platform, or a comma-separated
    list of them, each os/arch[/variant]; neither: this machine's."""
    given = {flag: text for flag, text in (("--custom-platform", args.custom_platform),
                                           ("--platform", args.buildkit_platform)) if text is not None}
    if not given:
        return (host_platform(),)
    if len(set(given.values())) > 1:
        raise UsageError(f"--custom-platform {args.custom_platform!r} and --platform "
                         f"{args.buildkit_platform!r} disagree: give the platforms once")
    flag, text = next(iter(given.items()))
    platforms = []
    for item in text.split(","):
        parts = tuple(item.strip().split("/"))
        if len(parts) not in (2, 3) or not all(parts):
            raise UsageError(f"{flag} {text!r}: expected os/arch or os/arch/variant, "
                             "comma-separated for several platforms")
        if parts in platforms:
            raise UsageError(f"{flag} {text!r}: {'/'.join(parts)} is given twice")
        platforms.append(parts)
    return tuple(platforms)


def platform_options(args: Any) -> PlatformOptions:
    return PlatformOptions(targets=target_platforms(args), build=host_platform())


def _retries(value: int, flag: str) -> int:
    if value < 0:
        raise UsageError(f"{flag} {value}: must be 0 or more")
    return value


def parse_duration(text: str, flag: str = "--cache-ttl") -> float:
    """A Go duration (``336h``, ``1h30m``, ``90s``) in seconds."""
    position, total = 0, 0.0
    for match in _GO_DURATION.finditer(text):
        if match.start() != position:
            break
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        position = match.end()
    if not text or position != len(text):
        raise UsageError(f"{flag} {text!r}: expected a duration like 336h, 6h30m or 90s")
    return total


def registry_options(args: Any, env: Mapping[str, str]) -> RegistryOptions:
    client_certificates: dict[str, tuple[Path, Path]] = {}
    for registry, value in _pairs(args.registry_client_cert, "--registry-client-cert"):
        certificate, sep, key = value.partition(",")
        if not sep or not certificate or not key:
            raise UsageError(f"--registry-client-cert {registry}={value}: expected "
                             "REGISTRY=CERT,KEY")
        client_certificates[registry] = (Path(certificate).absolute(), Path(key).absolute())
    return RegistryOptions(
        insecure=args.insecure, insecure_pull=args.insecure_pull,
        skip_tls_verify=args.skip_tls_verify, skip_tls_verify_pull=args.skip_tls_verify_pull,
        insecure_registries=frozenset(normalize_registry(r) for r in args.insecure_registry),
        skip_tls_verify_registries=frozenset(normalize_registry(r)
                                             for r in args.skip_tls_verify_registry),
        certificates={r: Path(p).absolute()
                      for r, p in _pairs(args.registry_certificate, "--registry-certificate")},
        client_certificates=client_certificates,
        registry_maps=_registry_maps(args, env),
        skip_default_registry_fallback=args.skip_default_registry_fallback,
        push_retry=_retries(args.push_retry, "--push-retry"),
        image_download_retry=_retries(args.image_download_retry, "--image-download-retry"),
        image_fs_extract_retry=_retries(args.image_fs_extract_retry, "--image-fs-extract-retry"),
        platform=target_platforms(args)[0],
        credential_helpers=_credential_helpers(args.credential_helpers))


def _path(value: str | None) -> Path | None:
    return Path(value).absolute() if value else None


annotation_values = attestation_flags.annotation_values  # `executor index` takes them as given


def output_options(args: Any) -> OutputOptions:
    attestation_flags.check_platforms(args, len(target_platforms(args)))
    annotations = attestation_flags.annotation_targets(args.annotation)
    return OutputOptions(
        destinations=tuple(args.destination), no_push=args.no_push,
        tar_path=_path(args.tar_path), digest_file=_path(args.digest_file),
        image_format=args.image_format, oci_layout_path=_path(args.oci_layout_path),
        image_name_with_digest_file=_path(args.image_name_with_digest_file),
        image_name_tag_with_digest_file=_path(args.image_name_tag_with_digest_file),
        skip_push_permission_check=args.skip_push_permission_check,
        annotations=annotations.manifest, index_annotations=annotations.index,
        push_ignore_immutable_tag_errors=args.push_ignore_immutable_tag_errors,
        sbom=attestation_flags.sbom_wanted(args.sbom),
        provenance=attestation_flags.provenance_mode(args.provenance))


def cache_options(args: Any) -> CacheOptions:
    repo = args.cache_repo or None
    if args.cache and repo is None and not args.destination:
        raise UsageError("--cache needs --cache-repo when there is no --destination")
    return CacheOptions(enabled=args.cache, repo=repo,
                        ttl_seconds=parse_duration(args.cache_ttl),
                        run_layers=args.cache_run_layers, copy_layers=args.cache_copy_layers,
                        push=not args.no_push_cache,
                        # kaniko defaults --cache-dir to /cache and reads it with --cache; lamina
                        # reads a --cache-dir it is given even without --cache
                        dir=_path(args.cache_dir) or (KANIKO_CACHE_DIR if args.cache else None))


__all__ = ["BOOLEAN_FLAGS", "KANIKO_CACHE_DIR", "add_boolean", "add_connection_flags", "add_flags",
           "add_registry_flags", "annotation_values",
           "cache_options", "host_platform", "normalize_registry", "output_options", "parse_duration",
           "platform_options", "registry_options", "target_platforms"]
