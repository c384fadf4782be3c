"""Structured build events: the log records that say what the build did (a stage began, a step
ran or came from the cache, a layer was written, a blob or manifest was pushed) carry an event
name and typed fields besides their message. ``--log-format json`` writes them one JSON object a
line; tests read them instead of counting lines of text."""

from __future__ import annotations

from typing import Any

__all__ = ["EVENT", "FIELDS", "event"]

EVENT = "lamina_event"  # the LogRecord attribute names set through ``extra=``
FIELDS = "lamina_fields"


def event(kind: str, /, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.info("...", extra=event("step.done", line=3))``."""
    return {EVENT: kind, FIELDS: fields}
