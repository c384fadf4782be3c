"""Progress of long work drawn from ``progress`` events (``executor/events.py``): on a terminal a
live bar per item, redrawn in place under the log and left as one finished line; elsewhere (CI
logs) one plain line per item every ``interval`` seconds; with ``--log-format json`` a
``progress`` record at the same pace. Items that end within a second never send an event.

Our own renderer rather than rich's Progress or tqdm: both want to own the terminal, so every log
line would have to go through their console to keep the bars intact, and both cost start-up
time the executor does not pay now; what is needed is a few ANSI sequences (cursor up, clear to
the end of the screen) around the log handler's writes."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

from executor.errors import UsageError
from executor.events import EVENT, FIELDS, PROGRESS_LOGGER

__all__ = ["DEFAULT_INTERVAL", "ProgressRenderer", "format_bytes", "install_progress", "progress_interval"]

DEFAULT_INTERVAL = 5.0  # seconds between the plain lines of one item
REDRAW_SECONDS = 0.2  # the bars on a terminal
BAR_WIDTH = 24
_UP_AND_CLEAR = "\x1b[{}F\x1b[J"  # to the start of the line N up, then clear to the end


def format_bytes(size: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} GB"  # pragma: no cover (the loop returns)


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds + 0.5))
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


@dataclass
class _Item:
    kind: str
    name: str
    done: int
    total: int | None
    seconds: float  # its age at the last event
    seen: float  # monotonic time of the last event
    finished: bool = False
    lines: int = 0  # plain lines printed for it

    def age(self, now: float) -> float:
        return self.seconds if self.finished else self.seconds + (now - self.seen)

    def rate(self, now: float) -> float:
        return self.done / max(self.age(now), 1e-6)

    def fraction(self) -> float | None:
        return min(1.0, self.done / self.total) if self.total else None

    def describe(self, now: float) -> str:
        """``120.0 MB/300.0 MB 40% 25.0 MB/s ETA 7s`` (or ``... in 12s`` once finished)."""
        rate, fraction = self.rate(now), self.fraction()
        amount = format_bytes(self.done) + (f"/{format_bytes(self.total)}" if self.total else "")
        text = f"{amount} {fraction * 100:3.0f}%" if fraction is not None else amount
        text += f" {format_bytes(rate)}/s"
        if self.finished:
            return f"{text} in {_duration(self.age(now))}"
        if self.total and rate > 0:
            return f"{text} ETA {_duration(max(0, self.total - self.done) / rate)}"
        return text


class ProgressRenderer(logging.Handler):
    """The handler of the progress logger. ``mode``: ``bars`` (a terminal), ``lines`` or
    ``json``. In ``bars`` mode the log handler writes through :meth:`log_stream`, so log lines
    appear above the bars instead of through them."""

    def __init__(self, stream: TextIO, mode: str, interval: float = DEFAULT_INTERVAL,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(level=logging.INFO)
        self.stream, self.mode, self.interval, self.clock = stream, mode, interval, clock
        self._items: dict[int, _Item] = {}
        self._drawn = 0  # bar lines on the screen below the log
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False

    # -- events -----------------------------------------------------------------------------

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, EVENT, None) != "progress":
            return
        fields: dict[str, Any] = getattr(record, FIELDS, {})
        with self._lock:
            key = int(fields["id"])
            item = self._items.get(key)
            if item is None:
                item = self._items[key] = _Item(str(fields["kind"]), str(fields["name"]), 0,
                                                None, 0.0, 0.0)
            item.done, item.total = int(fields["done"]), fields.get("total")
            item.seconds, item.seen = float(fields["seconds"]), self.clock()
            item.finished = bool(fields.get("finished"))
            if item.finished:
                self._finish(key, item)
            elif self._thread is None and not self._closed:
                self._thread = threading.Thread(target=self._tick, name="lamina-progress", daemon=True)
                self._thread.start()

    def _finish(self, key: int, item: _Item) -> None:
        del self._items[key]
        if self.mode == "bars":
            self._erase()
            self._write(self._bar(item, self.clock()) + "\n")
            self._draw()
        elif item.lines:  # a plain line said it was under way: say it ended
            self._plain(item, self.clock())

    def _tick(self) -> None:
        pause = REDRAW_SECONDS if self.mode == "bars" else min(self.interval, REDRAW_SECONDS * 5)
        while not self._wake.wait(pause):
            with self._lock:
                now = self.clock()
                if self.mode == "bars":
                    self._erase()
                    self._draw()
                    continue
                for item in self._items.values():
                    if item.age(now) >= self.interval * (item.lines + 1):
                        self._plain(item, now)

    # -- drawing ----------------------------------------------------------------------------

    def _plain(self, item: _Item, now: float) -> None:
        item.lines += 1
        if self.mode == "json":
            entry: dict[str, Any] = {"level": "info", "msg": f"{item.kind} {item.name}",
                                     "event": "progress", "kind": item.kind, "name": item.name,
                                     "done": item.done, "total": item.total,
                                     "seconds": round(item.age(now), 3), "finished": item.finished,
                                     "bytes_per_second": round(item.rate(now))}
            self._write(json.dumps(entry, ensure_ascii=False) + "\n")
        else:
            self._write(f"INFO {item.kind} {item.name}: {item.describe(now)}\n")

    def _bar(self, item: _Item, now: float) -> str:
        fraction = 1.0 if item.finished and item.total else item.fraction()
        if fraction is None:
            bar = "[" + "".join("=" if (i + int(item.age(now) * 4)) % 6 == 0 else " "
                                for i in range(BAR_WIDTH)) + "]"
        else:
            filled = int(fraction * BAR_WIDTH)
            bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "]"
        line = f"{item.kind:<7} {item.name} {bar} {item.describe(now)}"
        width = max(20, shutil.get_terminal_size((100, 24)).columns - 1)
        return line if len(line) <= width else line[:width - 1] + "…"  # no wrap: the count stays right

    def _draw(self) -> None:
        now = self.clock()
        lines = [self._bar(item, now) for item in self._items.values()]
        if lines:
            self._write("".join(line + "\n" for line in lines))
        self._drawn = len(lines)

    def _erase(self) -> None:
        if self._drawn:
            self._write(_UP_AND_CLEAR.format(self._drawn))
            self._drawn = 0

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):
            pass  # stderr closed: progress is not worth failing the build for

    # -- the log's writes and the end -------------------------------------------------------

    def log_stream(self) -> TextIO:
        """What the log handler writes to: the bars are lifted off, the line written, the bars
        drawn again below it."""
        return _UnderBars(self)  # type: ignore[return-value]

    def write_log(self, text: str) -> None:
        with self._lock:
            self._erase()
            self._write(text)
            if text.endswith("\n"):
                self._draw()

    def close(self) -> None:
        """Stop drawing; bars still up (the build failed mid-item) are left as they were."""
        with self._lock:
            self._closed = True
            self._wake.set()
            self._items.clear()
            self._drawn = 0
        super().close()


class _UnderBars:
    def __init__(self, renderer: ProgressRenderer) -> None:
        self._renderer = renderer

    def write(self, text: str) -> int:
        self._renderer.write_log(text)
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return self._renderer.stream.isatty()


def progress_interval(env: Mapping[str, str]) -> float:
    """Seconds between the plain progress lines of an item: $LAMINA_PROGRESS_INTERVAL, else 5."""
    value = env.get("LAMINA_PROGRESS_INTERVAL", "")
    try:
        return max(0.1, float(value)) if value else DEFAULT_INTERVAL
    except ValueError:
        raise UsageError(f"LAMINA_PROGRESS_INTERVAL={value!r}: expected a number of seconds") from None


def install_progress(stream: TextIO, log_format: str, interval: float,
                     term: str = "") -> ProgressRenderer:
    """Attach a renderer for ``stream`` to the progress logger (replacing an earlier one);
    ``term`` is $TERM (``dumb``: no cursor movement, plain lines)."""
    mode = "json" if log_format == "json" else "bars" if _is_terminal(stream, term) else "lines"
    renderer = ProgressRenderer(stream, mode, interval)
    remove_progress()
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(renderer)
    return renderer


def remove_progress() -> None:
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.propagate = False  # a build's progress never reaches the log line by line
    for old in list(logger.handlers):
        logger.removeHandler(old)
        old.close()


def _is_terminal(stream: TextIO, term: str) -> bool:
    try:
        return stream.isatty() and term != "dumb"
    except (AttributeError, ValueError):
        return False
