"""Build arguments: global ARGs, Docker's predefined proxy ARGs, BuildKit's automatic platform ARGs."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

from executor.dockerfile import Dockerfile, expand_pairs

log = logging.getLogger("lamina")

# Usable through --build-arg without an ARG instruction, and kept out of the image's history.
PROXY_ARGS = frozenset(name for base in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
                       for name in (base, base.lower()))


def platform_args(target: Sequence[str] = ("linux", "amd64"),
                  build: Sequence[str] | None = None) -> dict[str, str]:
    """BuildKit's automatic ARGs, in the global scope; a stage sees one after ``ARG NAME``.
    TARGET* name the platform being built (``target``, os/arch[/variant]); BUILD* the machine's
    own (``build``; the target's when not given)."""
    values = {}
    for prefix, platform in (("TARGET", target), ("BUILD", target if build is None else build)):
        os_name, arch, *variant = platform
        values.update({f"{prefix}PLATFORM": "/".join(platform), f"{prefix}OS": os_name,
                       f"{prefix}ARCH": arch, f"{prefix}VARIANT": variant[0] if variant else ""})
    return values


def global_arg_values(dockerfile: Dockerfile, build_args: Mapping[str, str],
                      target: Sequence[str] = ("linux", "amd64"),
                      build: Sequence[str] | None = None) -> dict[str, str | None]:
    """The ARGs declared before the first FROM, each a --build-arg value or its default, on top of
    the automatic platform ARGs (``platform_args(target, build)``)."""
    values: dict[str, str | None] = dict(platform_args(target, build))
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
