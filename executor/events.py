"""Structured build events: the log records that say what the build did (a stage began, a step
ran or came from the cache, a layer was written, a blob or manifest was pushed) carry an event
name and typed fields besides their message. ``--log-format json`` writes them one JSON object a
line; tests read them instead of counting lines of text.

Long work that moves bytes (a layer pulled and extracted, a layer written, a blob pushed) also
reports ``progress`` events through a :class:`Progress`, on a logger of their own that the CLI
draws as bars or periodic lines (``executor/cli/progress.py``)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, BinaryIO

__all__ = ["EVENT", "FIELDS", "INPUTS_LOGGER", "PROGRESS_LOGGER", "Progress", "ProgressReader", "event"]

EVENT = "lamina_event"  # the LogRecord attribute names set through ``extra=``
FIELDS = "lamina_fields"
PROGRESS_LOGGER = "lamina.progress"  # not propagated: progress is drawn, not logged line by line
INPUTS_LOGGER = "lamina.report.inputs"  # what went into cache keys: for the build report alone
QUIET_SECONDS = 1.0  # work that ends sooner reports nothing at all
EVERY_SECONDS = 0.25  # at most this often per item (the renderer decides what it shows)


def event(kind: str, /, **fields: Any) -> dict[str, Any]:
    """``extra=`` for a log call: ``log.info("...", extra=event("step.done", line=3))``."""
    return {EVENT: kind, FIELDS: fields}


Total = int | None | Callable[[], int | None]


class Progress:
    """Bytes moved by one long piece of work (``kind`` pull, extract, layer or push; ``name``
    what it moves). Nothing is reported until it has run :data:`QUIET_SECONDS`, then at most
    every :data:`EVERY_SECONDS`, and once more when it ends; without a handler on the progress
    logger ``advance`` costs an addition and a comparison. ``total`` may be a function, called
    only once the work turns out long (a layer's size summed from the index)."""

    def __init__(self, kind: str, name: str, total: Total = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kind, self.name, self.done = kind, name, 0
        self._total = total
        self._clock = clock
        self._logger = logging.getLogger(PROGRESS_LOGGER)
        self._started = clock()
        # nobody draws progress (json at error level, a library caller): never look at the clock
        self._next = self._started + QUIET_SECONDS if self._logger.handlers else float("inf")
        self._reported = False

    def advance(self, count: int) -> None:
        self.done += count
        if count and self.done and self._clock() >= self._next:
            self._emit(finished=False)

    def restart(self) -> None:
        """The bytes are read again from the first one (a retried upload)."""
        self.done = 0

    def finish(self) -> None:
        if self._reported:
            self._emit(finished=True)
        self._next = float("inf")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.finish()

    def _emit(self, finished: bool) -> None:
        now = self._clock()
        if callable(self._total):
            self._total = self._total()
        self._reported = True
        self._next = now + EVERY_SECONDS
        self._logger.info("%s %s: %d bytes", self.kind, self.name, self.done, extra=event(
            "progress", id=id(self), kind=self.kind, name=self.name, done=self.done,
            total=self._total, seconds=round(now - self._started, 3), finished=finished))


class ProgressReader:
    """A stream read through, counted into a :class:`Progress` (the file object the caller had
    in every other respect)."""

    def __init__(self, stream: BinaryIO, progress: Progress) -> None:
        self._stream, self._progress = stream, progress

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        self._progress.advance(len(data))
        return data

    def readinto(self, buffer: Any) -> int:
        count = self._stream.readinto(buffer)  # type: ignore[attr-defined]
        self._progress.advance(count or 0)
        return count or 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)

    def __enter__(self) -> ProgressReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stream.close()
