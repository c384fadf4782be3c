"""A build watched: its events recorded while it runs, then, succeeded or failed, the
``--build-report`` file written, the summary table put on stderr (text and color logs; a json
log is read by machines, which have the report) and the trace exported when OTEL asks for one."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TextIO

from executor.cli import tracing
from executor.cli.report import BuildRecorder, print_summary, write_report

__all__ = ["add_flags", "observed_build"]

log = logging.getLogger("lamina")


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build-report", metavar="FILE",
                        help="write what the build did (stages, steps, cache hits, layers, pushes, "
                             "warnings, the error) to FILE as JSON, also when it fails; the schema "
                             "is docs/BUILD_REPORT.md")


@contextlib.contextmanager
def observed_build(report: Path | None, log_format: str, env: Mapping[str, str], version: str,
                   stream: TextIO | None = None) -> Iterator[BuildRecorder]:
    """Record the build run in the block; report it when the block ends, however it ends."""
    recorder = BuildRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    error: BaseException | None = None
    try:
        yield recorder
    except BaseException as raised:
        error = raised
        raise
    finally:
        root.removeHandler(recorder)
        record = recorder.finish(error)
        if log_format != "json":
            print_summary(record, stream or sys.stderr)
        if report is not None:
            try:
                write_report(report, record)
            except OSError as failure:
                log.warning("--build-report %s: not written: %s", report, failure)
        if tracing.tracing_requested(env):
            tracing.export_trace(record, version)
