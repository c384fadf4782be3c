"""HEALTHCHECK: validation at parse time and the image-config ``Healthcheck`` it produces.

Durations use Go's ``time.ParseDuration`` syntax (``30s``, ``1m30s``, ``1.5h``, ``500ms``) and, as in
Docker, a non-zero duration below 1ms is an error. The config stores durations in nanoseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor.dockerfile.errors import DockerfileError

__all__ = ["HealthConfig", "parse_go_duration", "validate_healthcheck"]

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign
    "\u03bcs": 1_000,  # Greek mu
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3600 * 1_000_000_000,
}
_COMPONENT = re.compile(r"([0-9]*)(?:\.([0-9]*))?([^0-9.]+)")
_MINIMUM_NS = 1_000_000
_DURATION_FLAGS = ("interval", "timeout", "start-period", "start-interval")


def parse_go_duration(text: str) -> int:
    """Go's ``time.ParseDuration`` in nanoseconds; raises ``ValueError`` on bad syntax."""
    s = text
    negative = False
    if s[:1] in ("+", "-"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise ValueError(f"time: invalid duration {text!r}")
    total = 0
    pos = 0
    while pos < len(s):
        match = _COMPONENT.match(s, pos)
        if match is None:
            raise ValueError(f"time: invalid duration {text!r}")
        whole, frac, unit = match.group(1), match.group(2), match.group(3)
        if not whole and not frac:
            raise ValueError(f"time: invalid duration {text!r}")
        scale = _UNITS_NS.get(unit)
        if scale is None:
            raise ValueError(f"time: unknown unit {unit!r} in duration {text!r}")
        total += int(whole or "0") * scale
        if frac:
            total += int(frac) * scale // (10 ** len(frac))
        pos = match.end()
    if total > 2**63 - 1:
        raise ValueError(f"time: invalid duration {text!r}")
    return -total if negative else total


@dataclass(frozen=True)
class HealthConfig:
    """The image config's ``Healthcheck`` (durations in nanoseconds; 0 means "inherit/default")."""

    test: list[str]  # ["NONE"], ["CMD", arg...] or ["CMD-SHELL", command]
    interval: int = 0
    timeout: int = 0
    start_period: int = 0
    start_interval: int = 0
    retries: int = 0


def validate_healthcheck(
    words: list[str],
    json_form: list[str] | None,
    flags: dict[str, list[str]],
    *,
    line: int,
    dockerfile: str = "Dockerfile",
) -> HealthConfig:
    """Check a HEALTHCHECK's type, command and flag values; return the config it sets."""

    def fail(message: str) -> DockerfileError:
        return DockerfileError(f"HEALTHCHECK: {message}", line, dockerfile)

    if not words:
        raise fail("requires at least one argument")
    kind = words[0].upper()
    if kind == "NONE":
        if len(words) != 1:
            raise fail("NONE takes no arguments")
        return HealthConfig(test=["NONE"])
    if kind != "CMD":
        raise fail(f'Unknown type "{words[0]}" in HEALTHCHECK (try CMD)')
    command = words[1:]
    if not command:
        raise fail("Missing command after HEALTHCHECK CMD")
    test = ["CMD", *command] if json_form is not None else ["CMD-SHELL", *command]

    durations: dict[str, int] = {}
    for name in _DURATION_FLAGS:
        value = flags.get(name, [""])[-1]
        if value == "":
            durations[name] = 0
            continue
        try:
            ns = parse_go_duration(value)
        except ValueError as exc:
            raise fail(f"--{name}: {exc}") from None
        if ns != 0 and ns < _MINIMUM_NS:
            raise fail(f"Interval {name!r} cannot be less than 1ms")
        durations[name] = ns
    retries = 0
    retries_text = flags.get("retries", [""])[-1]
    if retries_text != "":
        if not re.fullmatch(r"[+-]?[0-9]+", retries_text) or not -(2**31) <= int(retries_text) < 2**31:
            raise fail(f"--retries: invalid value {retries_text!r}")
        retries = int(retries_text)
        if retries < 0:
            raise fail(f"--retries cannot be negative ({retries})")
    return HealthConfig(
        test=test,
        interval=durations["interval"],
        timeout=durations["timeout"],
        start_period=durations["start-period"],
        start_interval=durations["start-interval"],
        retries=retries,
    )
