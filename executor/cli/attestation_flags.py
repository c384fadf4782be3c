"""The supply-chain flags: --sbom (an SPDX 2.3 document of the image's packages) and
--provenance[=mode=min|max] (a SLSA v1 provenance statement), BuildKit's spellings. Neither is
a plain boolean: ``--provenance=mode=max`` carries a value, so both take an optional one. And
where each --annotation goes, by buildx's ``manifest:``/``index:`` prefixes."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from executor.errors import UsageError
from executor.image.annotations import AnnotationTargets, split_annotation

__all__ = ["add_flags", "annotation_targets", "annotation_values", "check_platforms", "provenance_mode", "sbom_wanted"]

_TRUE = ("true", "1", "t", "yes")
_FALSE = ("false", "0", "f", "no")


def add_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--sbom", nargs="?", const="true", default="false", metavar="BOOL",
        help="write an SPDX 2.3 JSON SBOM of the final image's packages (dpkg, apk, Python, npm) "
             "beside --tar-path (or --digest-file) as NAME.spdx.json")
    add("--provenance", nargs="?", const="mode=min", default="false", metavar="mode=min|max",
        help="write a SLSA v1 provenance statement beside --tar-path (or --digest-file) as "
             "NAME.provenance.json; mode=max also records build arg values (never secrets)")


def sbom_wanted(value: str) -> bool:
    lowered = value.lower()
    if lowered not in (*_TRUE, *_FALSE):
        raise UsageError(f"invalid value {value!r} for --sbom: expected true or false")
    return lowered in _TRUE


def provenance_mode(value: str) -> str:
    """"" (none), "min" or "max"."""
    lowered = value.lower()
    if lowered in _FALSE:
        return ""
    if lowered in _TRUE:
        return "min"
    mode = lowered.removeprefix("mode=")
    if mode not in ("min", "max"):
        raise UsageError(f"invalid value {value!r} for --provenance: expected mode=min or mode=max")
    return mode


def check_platforms(args: argparse.Namespace, platforms: int) -> None:
    """One image per build is attested: several target platforms build on one root in turn,
    and only the last one's files are there at the end to read an SBOM from."""
    if platforms > 1 and (sbom_wanted(args.sbom) or provenance_mode(args.provenance)):
        raise UsageError("--sbom and --provenance attest a single-platform build; build each "
                         "platform on its own to attest it")


def annotation_values(values: Sequence[str]) -> dict[str, str]:
    """``--annotation KEY=VALUE``s as given, the last of one key winning."""
    found: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key or not sep:
            raise UsageError(f"--annotation {item!r}: expected KEY=VALUE")
        found[key] = value
    return found


def annotation_targets(values: Sequence[str]) -> AnnotationTargets:
    """``--annotation [TYPE[,TYPE]:]KEY=VALUE`` by where it goes; no TYPE is the manifest."""
    manifest: dict[str, str] = {}
    index: dict[str, str] = {}
    for key, value in annotation_values(values).items():
        try:
            kinds, name = split_annotation(key)
        except ValueError as error:
            raise UsageError(f"--annotation {key}={value}: {error}") from None
        for kind in kinds:
            (index if kind == "index" else manifest)[name] = value
    return AnnotationTargets(manifest, index)
