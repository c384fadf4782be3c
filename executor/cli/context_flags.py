"""kaniko's build-context flags (``--context-sub-path``, ``--git``) and what they parse into.

Kept apart from ``executor/cli.py`` so the general flags and these can change independently.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from executor.contexts.git import GitOptions
from executor.errors import UsageError

__all__ = ["add_flags", "git_options"]

_TRUE = ("1", "t", "true")  # Go's strconv.ParseBool, which kaniko uses, case-insensitively
_FALSE = ("0", "f", "false")


def add_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--context-sub-path", default="", help="use this directory inside the context as the context")
    add("--git", action="append", default=[], metavar="KEY=VALUE",
        help="for git:// contexts: branch=NAME, single-branch=true|false, "
             "recurse-submodules=true|false (repeatable)")


def _bool(key: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f"--git {key}={value}: expected true or false")


def git_options(values: Sequence[str]) -> GitOptions:
    branch, single_branch, recurse = "", False, False
    for item in values:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--git {item!r}: expected KEY=VALUE")
        if key == "branch":
            branch = value
        elif key == "single-branch":
            single_branch = _bool(key, value)
        elif key == "recurse-submodules":
            recurse = _bool(key, value)
        else:
            raise UsageError(f"--git {item!r}: unknown key {key!r}; "
                             "use branch, single-branch or recurse-submodules")
    return GitOptions(branch=branch, single_branch=single_branch, recurse_submodules=recurse)
