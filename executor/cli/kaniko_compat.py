"""kaniko's spellings that lamina takes without a flag of its own: deprecated names (which mean
their new name), flags that tune kaniko internals lamina does not have, the kaniko fork's
repeatable ``--target``, and kaniko's environment variables.

A pipeline written for kaniko v1.24 or the maintained fork (osscontainertools/kaniko v1.28) then
runs unchanged, and its log says in exactly one line per flag what did not apply, and why.
docs/MIGRATING.md lists every flag with its status.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType

from executor.errors import UsageError

__all__ = ["BOOLEAN_FLAGS", "DEPRECATED", "NO_EFFECT", "add_flags", "env_flag", "go_bool",
           "no_push", "resolve", "targets"]

# Flag -> why it changes nothing in lamina. Each is accepted (with =true|false) and, when given,
# reported once.
NO_EFFECT: Mapping[str, str] = MappingProxyType({
    "--compressed-caching": "lamina streams every layer, cached ones too, through compression "
                            "to the registry and never holds one in memory",
    "--use-new-run": "lamina has one RUN implementation; its snapshots re-read only files whose "
                     "size, times, mode or owner changed (see --snapshot-mode)",
    "--force-build-metadata": "lamina never adds empty layers for instructions that only change "
                              "the config, as BuildKit (the kaniko fork dropped it too)",
    "--preserve-context": "lamina does not restore the container's files between stages; mounts "
                          "(the context and secret volumes), the kaniko dir and --ignore-path "
                          "paths are never cleaned",
})
# Deprecated spelling -> the flag it means (kaniko warns about each the same way).
DEPRECATED: Mapping[str, str] = MappingProxyType({
    "--snapshotMode": "--snapshot-mode", "--customPlatform": "--custom-platform",
    "--tarPath": "--tar-path", "--whitelist-var-run": "--ignore-var-run",
})
BOOLEAN_FLAGS = (*NO_EFFECT, "--whitelist-var-run")
# Environment variables kaniko's executor reads that lamina does not, and why.
_IGNORED_ENVIRONMENT = MappingProxyType({
    "BENCHMARK_FILE": "lamina writes no timing file; --log-format=json logs each step's events",
})
_GO_TRUE = ("1", "t", "T", "TRUE", "true", "True")  # Go's strconv.ParseBool, as kaniko reads them
_GO_FALSE = ("0", "f", "F", "FALSE", "false", "False")

AddBoolean = Callable[[argparse.ArgumentParser, str, str], None]


def _dest(flag: str) -> str:
    return flag[2:].replace("-", "_")


def add_flags(parser: argparse.ArgumentParser, add_boolean: AddBoolean) -> None:
    for flag, reason in NO_EFFECT.items():
        add_boolean(parser, flag, f"kaniko's; no effect: {reason}")
        parser.set_defaults(**{_dest(flag): None})  # None: not given
    add_boolean(parser, "--whitelist-var-run", "deprecated: --ignore-var-run")
    parser.set_defaults(whitelist_var_run=None)
    for old, new in DEPRECATED.items():
        if old not in BOOLEAN_FLAGS:
            parser.add_argument(old, dest=_dest(old), default=None, help=f"deprecated: {new}")


def go_bool(text: str) -> bool | None:
    """``text`` as Go's strconv.ParseBool reads it; None if it is not a boolean."""
    return True if text in _GO_TRUE else False if text in _GO_FALSE else None


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """The kaniko fork's EnvBool: a boolean variable that defaults a flag; unset or not a
    boolean is false."""
    return bool(go_bool(env.get(name, "")))


def no_push(env: Mapping[str, str], flag: bool) -> bool:
    """--no-push, which KANIKO_NO_PUSH overrides when set (even to false), as in kaniko."""
    if "KANIKO_NO_PUSH" not in env:
        return flag
    value = go_bool(env["KANIKO_NO_PUSH"])
    if value is None:
        raise UsageError(f"KANIKO_NO_PUSH={env['KANIKO_NO_PUSH']!r}: expected true or false")
    return value


def resolve(args: argparse.Namespace, env: Mapping[str, str]) -> tuple[dict[str, object], list[str]]:
    """What the deprecated spellings set (their new flags' values) and the notices to log."""
    overrides: dict[str, object] = {}
    notices: list[str] = []
    for old, new in DEPRECATED.items():
        value = getattr(args, _dest(old))
        if value is not None:
            overrides[_dest(new)] = value
            notices.append(f"{old} is deprecated: it is taken as {new}, use that instead")
    for flag, reason in NO_EFFECT.items():
        name = flag if getattr(args, _dest(flag)) is not None else None
        if name is None and flag == "--preserve-context" and env_flag(env, "KANIKO_PRESERVE_CONTEXT"):
            name = f"{flag} (KANIKO_PRESERVE_CONTEXT)"  # the fork's default for it
        if name is not None:
            notices.append(f"{name} has no effect: {reason}")
    for name, reason in _IGNORED_ENVIRONMENT.items():
        if env.get(name) not in (None, "", "false"):  # "false" turns kaniko's off too
            notices.append(f"{name} has no effect: {reason}")
    return overrides, notices


def targets(values: Sequence[str]) -> tuple[str | None, list[str]]:
    """The stage to build and push, and the notices. The kaniko fork takes several --target (also
    comma-separated) and builds them all, pushing the first; lamina builds the first."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    if not names:
        return None, []
    notices = []
    if len(names) > 1:
        notices.append(f"--target {','.join(names[1:])}: only the first --target ({names[0]}) is "
                       "built and pushed")
    return names[0], notices
