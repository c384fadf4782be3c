"""kaniko's build-context flags (``--context-sub-path``, ``--git``, the hidden ``-b/--bucket``) and
what they parse into.

Kept apart from ``executor/cli/main.py`` so the general flags and these can change independently.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from executor.contexts.git import GitOptions
from executor.contexts.named import NamedContext, parse_build_contexts

__all__ = ["DEFAULT_CONTEXT", "add_flags", "context_spec", "git_options", "named_contexts"]

DEFAULT_CONTEXT = "/workspace/"  # kaniko's default --context
# What kaniko reads from a bucket named without an object (gs://BUCKET, s3://BUCKET, -b BUCKET).
BUCKET_CONTEXT_TAR = "context.tar.gz"


def add_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("--context-sub-path", default="", help="use this directory inside the context as the context")
    add("--git", action="append", default=[], metavar="KEY=VALUE",
        help="for git:// contexts: branch=NAME, single-branch=true|false, depth=N, "
             "recurse-submodules=true|false, insecure-skip-tls=true|false (repeatable)")
    add("-b", "--bucket", default=None, help=argparse.SUPPRESS)  # kaniko hides it too
    add("--build-context", action="append", default=[], metavar="NAME=VALUE",
        help="a named context for FROM NAME, COPY --from=NAME and RUN --mount=from=NAME (buildx's): "
             "a directory, docker-image://REF, oci-layout://PATH[:TAG|@DIGEST], a git URL or an "
             "https:// URL (repeatable)")


def context_spec(context: str | None, bucket: str | None) -> str:
    """The ``--context`` to use. As kaniko: ``--bucket NAME`` (gs:// unless it has a scheme) is the
    context unless a local ``--context`` is given, and a bucket named without an object means its
    ``context.tar.gz``. (kaniko ignores ``--bucket`` when ``--context`` is left at its default;
    lamina takes the bucket then, which is what the flag asks for.)"""
    spec = context if context is not None else DEFAULT_CONTEXT
    if bucket and (context is None or not context or "://" in context):
        spec = bucket if "://" in bucket else f"gs://{bucket}"
    scheme, sep, rest = spec.partition("://")
    if sep and scheme in ("gs", "s3") and rest and "/" not in rest.rstrip("/"):
        spec = f"{scheme}://{rest.rstrip('/')}/{BUCKET_CONTEXT_TAR}"
    return spec


def named_contexts(values: Sequence[str]) -> tuple[NamedContext, ...]:
    """``--build-context NAME=VALUE`` flags, checked now: an unknown scheme, a missing directory
    or OCI layout is a usage error before anything is pulled."""
    return parse_build_contexts(values)


def git_options(values: Sequence[str]) -> GitOptions:
    """``--git KEY=VALUE`` flags: branch, single-branch, depth (the fork's), recurse-submodules,
    insecure-skip-tls. (kaniko ignores an unknown key; here it is an error, as a typo would
    silently change the clone.)"""
    return GitOptions.parse(values)
