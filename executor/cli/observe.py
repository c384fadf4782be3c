"""A build watched: its events recorded while it runs, then, succeeded or failed, the
``--build-report`` file written, the summary table put on stderr (text and color logs; a json
log is read by machines, which have the report) and the trace exported when OTEL asks for one."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, TextIO

from executor.cli import tracing
from executor.cli.report import SCHEMA, BuildRecorder, print_summary, write_report
from executor.events import INPUTS_LOGGER

__all__ = ["add_flags", "observed_build"]

log = logging.getLogger("lamina")


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--build-report", metavar="FILE",
                        help="write what the build did (stages, steps, cache hits, layers, pushes, "
                             "warnings, the error) to FILE as JSON, also when it fails; the schema "
                             "is docs/BUILD_REPORT.md")


def _earlier_report(path: Path | None) -> dict[str, Any] | None:
    """The report a previous build left at ``path`` (its steps explain this build's misses)."""
    if path is None:
        return None
    try:
        earlier = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return earlier if isinstance(earlier, dict) and earlier.get("schema") == SCHEMA else None


def process_started(proc: Path = Path("/proc")) -> float | None:
    """The wall-clock time this process started (Linux: its start in clock ticks since boot,
    against the uptime), or None where /proc does not say."""
    try:
        fields = (proc / "self/stat").read_text().rpartition(")")[2].split()
        ticks = int(fields[19])  # field 22, starttime; the split begins at field 3
        uptime = float((proc / "uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return time.time() - (uptime - ticks / os.sysconf("SC_CLK_TCK"))


@contextlib.contextmanager
def observed_build(report: Path | None, log_format: str, env: Mapping[str, str], version: str,
                   stream: TextIO | None = None) -> Iterator[BuildRecorder]:
    """Record the build run in the block; report it when the block ends, however it ends. The
    record starts when the process did, so start-up and flag parsing count in its total."""
    recorder = BuildRecorder(started=process_started())
    baseline = _earlier_report(report)
    root, inputs = logging.getLogger(), logging.getLogger(INPUTS_LOGGER)
    root.addHandler(recorder)
    inputs.propagate = False
    inputs.addHandler(recorder)
    error: BaseException | None = None
    try:
        yield recorder
    except BaseException as raised:
        error = raised
        raise
    finally:
        root.removeHandler(recorder)
        inputs.removeHandler(recorder)
        record = recorder.finish(error, baseline)
        if log_format != "json":
            print_summary(record, stream or sys.stderr)
        if report is not None:
            try:
                write_report(report, record)
            except OSError as failure:
                log.warning("--build-report %s: not written: %s", report, failure)
        if tracing.tracing_requested(env):
            tracing.export_trace(record, version)
