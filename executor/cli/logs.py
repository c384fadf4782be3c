"""How the log looks: kaniko's ``--log-format text|color|json`` and ``--log-timestamp``."""

from __future__ import annotations

import datetime
import json
import logging
import sys
from typing import TextIO

from executor.cli.progress import ProgressRenderer, install_progress, remove_progress
from executor.events import EVENT, FIELDS

LOG_FORMATS = ("text", "color", "json")
_COLORS = {logging.DEBUG: "\x1b[37m", logging.INFO: "\x1b[36m", logging.WARNING: "\x1b[33m",
           logging.ERROR: "\x1b[31m", logging.CRITICAL: "\x1b[31m"}


def _timestamp(record: logging.LogRecord) -> str:
    moment = datetime.datetime.fromtimestamp(record.created, datetime.UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class TextFormatter(logging.Formatter):
    """``INFO message``; ``color`` colours the level, ``timestamp`` puts the time first."""

    def __init__(self, color: bool = False, timestamp: bool = False) -> None:
        super().__init__()
        self.color, self.timestamp = color, timestamp

    def format(self, record: logging.LogRecord) -> str:
        level = record.levelname
        if self.color:
            level = f"{_COLORS.get(record.levelno, '')}{level}\x1b[0m"
        line = f"{level} {record.getMessage()}"
        return f"{_timestamp(record)} {line}" if self.timestamp else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: level, time, message, and a build event's name and fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {"level": record.levelname.lower(), "time": _timestamp(record),
                                    "msg": record.getMessage()}
        name = getattr(record, EVENT, None)
        if name is not None:
            entry["event"] = name
            entry.update(getattr(record, FIELDS, {}))
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(log_format: str = "text", timestamp: bool = False, level: int = logging.INFO,
                      stream: TextIO | None = None, progress_interval: float | None = None,
                      term: str = "") -> ProgressRenderer | None:
    """Send the log to stderr in the format asked for (replacing any earlier set-up). With
    ``progress_interval``, long work's progress is drawn too (executor/cli/progress.py), unless
    the level hides information (error, fatal, panic); the renderer is returned to be closed."""
    out = stream or sys.stderr
    remove_progress()
    renderer = None
    if progress_interval is not None and level <= logging.WARNING:
        renderer = install_progress(out, log_format, progress_interval, term)
    # on a terminal the log is written through the renderer, so lines land above the bars
    handler = logging.StreamHandler(renderer.log_stream() if renderer and renderer.mode == "bars" else out)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        color = log_format == "color" and out.isatty()  # colours on a terminal only
        handler.setFormatter(TextFormatter(color=color, timestamp=timestamp))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    return renderer
