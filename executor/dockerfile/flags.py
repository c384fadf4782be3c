"""Instruction flags (``COPY --from=build``, ``RUN --mount=...``): BuildKit's ``BFlags`` rules.

Flags are the leading words that start with ``--`` (``words.extract_flag_words``); the first other
word (or a bare ``--``) starts the arguments. Which flags each instruction accepts and how often.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum

from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.words import extract_flag_words

__all__ = ["FlagKind", "FLAG_SPECS", "extract_flag_words", "parse_flags"]


class FlagKind(Enum):
    BOOL = "bool"  # --link or --link=true|false; stored as "true"/"false"
    STRING = "string"  # --from=x, at most once
    STRINGS = "strings"  # --mount=x, repeatable


_B, _S, _SS = FlagKind.BOOL, FlagKind.STRING, FlagKind.STRINGS

# The flags each instruction accepts; an instruction not listed accepts none.
FLAG_SPECS: Mapping[str, Mapping[str, FlagKind]] = {
    "ADD": {"chown": _S, "chmod": _S, "checksum": _S, "keep-git-dir": _B, "link": _B, "exclude": _SS,
            "unpack": _B},
    "COPY": {"from": _S, "chown": _S, "chmod": _S, "link": _B, "parents": _B, "exclude": _SS},
    "RUN": {"mount": _SS, "network": _S, "security": _S},
    "FROM": {"platform": _S},
    "HEALTHCHECK": {"interval": _S, "timeout": _S, "start-period": _S, "start-interval": _S, "retries": _S},
}


def parse_flags(
    keyword: str, words: list[str], *, line: int, dockerfile: str = "Dockerfile"
) -> dict[str, list[str]]:
    """Validate ``--name[=value]`` words against what ``keyword`` accepts; name -> values in order."""
    spec = FLAG_SPECS.get(keyword, {})
    result: dict[str, list[str]] = {}

    def fail(message: str) -> DockerfileError:
        return DockerfileError(f"{keyword}: {message}", line, dockerfile)

    for word in words:
        if not word.startswith("--"):
            raise fail(f"Arg should start with -- : {word}")
        name, eq, value = word[2:].partition("=")
        kind = spec.get(name)
        if kind is None:
            allowed = ", ".join("--" + known for known in spec) or "none"
            raise fail(f"unknown flag: --{name} (allowed: {allowed})")
        if name in result and kind is not FlagKind.STRINGS:
            raise fail(f"duplicate flag specified: --{name}")
        if kind is FlagKind.BOOL:
            if eq and value == "":
                raise fail(f"missing a value on flag: --{name}")
            lowered = value.lower()
            if lowered not in ("", "true", "false"):
                raise fail(f"expecting boolean value for flag --{name}, not: {value}")
            result[name] = [lowered or "true"]
        else:
            if not eq:
                raise fail(f"missing a value on flag: --{name}")
            result.setdefault(name, []).append(value)
    return result
