"""Build arguments: global ARGs, Docker's predefined proxy ARGs, BuildKit's automatic platform ARGs."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from executor.dockerfile import Dockerfile, expand_pairs

log = logging.getLogger("lamina")

# Usable through --build-arg without an ARG instruction, and kept out of the image's history.
PROXY_ARGS = frozenset(name for base in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
                       for name in (base, base.lower()))


def platform_args(os_name: str = "linux", arch: str = "amd64", variant: str = "") -> dict[str, str]:
    """BuildKit's automatic ARGs, in the global scope; a stage sees one after ``ARG NAME``."""
    platform = f"{os_name}/{arch}" + (f"/{variant}" if variant else "")
    values = {}
    for prefix in ("TARGET", "BUILD"):
        values.update({f"{prefix}PLATFORM": platform, f"{prefix}OS": os_name, f"{prefix}ARCH": arch,
                       f"{prefix}VARIANT": variant})
    return values


def global_arg_values(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> dict[str, str | None]:
    """The ARGs declared before the first FROM, each a --build-arg value or its default, on top of
    the automatic platform ARGs."""
    values: dict[str, str | None] = dict(platform_args())
    for instruction in dockerfile.global_args:
        scope = {k: v for k, v in values.items() if v is not None}
        for name, default in expand_pairs(instruction.pairs, scope, escape=dockerfile.escape,
                                          line=instruction.line, dockerfile=dockerfile.name):
            values[name] = build_args.get(name, default)
    return values


def warn_unused_build_args(build_args: Mapping[str, str], declared: Iterable[str]) -> None:
    unused = sorted(set(build_args) - set(declared) - PROXY_ARGS)
    if unused:
        log.warning("one or more build-args %s were not consumed", unused)


def global_scope(global_args: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in global_args.items() if v is not None}
