"""Build checks from the command line: ``--check`` (``docker build --check``: the checks alone,
nothing pulled or built, a non-zero exit when any warns) and, before a build, the same checks'
warnings logged as BuildKit prints them, failing the build only with ``# check=error=true``."""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from executor.builder.build import read_dockerfile
from executor.builder.plan import make_expander, plan_stages
from executor.contexts import fetch_context
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import DockerIgnore, ShellLexer
from executor.dockerfile.args import global_arg_values, platform_args
from executor.dockerfile.checks import CheckInputs, build_notices, check_dockerfile, check_report
from executor.errors import LaminaError
from executor.options import ExecutorOptions

__all__ = ["log_build_checks", "run_check"]

log = logging.getLogger("lamina")


def context_ignore(context: Path, dockerfile: Path) -> DockerIgnore:
    """The context's ignore file as the build uses it."""
    if not context.is_dir():
        return DockerIgnore()  # the build reports the missing context
    return BuildContextFiles.for_dockerfile(context, dockerfile).ignore


def _inputs(options: ExecutorOptions, stages: tuple[int, ...] | None) -> CheckInputs:
    source = options.source
    # the automatic platform ARGs of the platform the build pulls for
    return CheckInputs(build_args=source.build_args, ignore=context_ignore(source.context, source.dockerfile),
                       stages=stages, target=source.target,
                       automatic_args=platform_args(options.registry.platform))


def run_check(options: ExecutorOptions, environ: Mapping[str, str], out: TextIO | None = None) -> int:
    """``--check``: print what ``docker build --check`` prints; 1 when a check warns or the checks
    cannot finish (that error also ends as the one ``error:`` line), else 0. A remote context is
    fetched, as the Dockerfile is read from it; no image is pulled."""
    out = out or sys.stdout
    fetch_context(options.source.fetch, environ)
    dockerfile = read_dockerfile(options.source.dockerfile, options.source.context)
    result = check_dockerfile(dockerfile, _inputs(options, None))
    out.write(check_report(result, dockerfile))
    out.flush()
    failure = result.error or result.violation
    if failure is not None:
        raise failure
    return 1 if result.warnings else 0


def log_build_checks(options: ExecutorOptions) -> None:
    """Before a build from a local context: log the checks' warnings (for the stages the build
    builds, as BuildKit does) and lamina's notices; with ``error=true`` a warning fails the build
    here, before anything is pulled. An error the checks stop at is left for the build to report."""
    source = options.source
    if source.fetch is not None:
        return  # the build fetches the context; checking first would fetch it twice
    dockerfile = read_dockerfile(source.dockerfile, source.context)
    for notice in build_notices(dockerfile):
        log.warning("%s", notice)
    expand = make_expander(ShellLexer(dockerfile.escape), global_arg_values(dockerfile, source.build_args),
                           dockerfile)
    try:
        order: tuple[int, ...] | None = plan_stages(dockerfile, source.target, source.skip_unused_stages,
                                                    expand).order
    except LaminaError:
        order = None  # a bad --target or stage reference: the build says so
    result = check_dockerfile(dockerfile, _inputs(options, order))
    for warning in result.warnings:
        log.warning("%s", warning.short)
    if result.violation is not None and result.error is None:
        raise result.violation
