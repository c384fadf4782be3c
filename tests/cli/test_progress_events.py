"""Progress events and their renderer without a build: work under a second says nothing, longer
work reports at most every quarter second and once at the end; plain lines come once per
interval per item, JSON records carry the numbers, and an error-level log draws nothing."""

from __future__ import annotations

import io
import json
import logging
import time

from executor.cli.logs import configure_logging
from executor.events import PROGRESS_LOGGER, Progress


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _records() -> tuple[list[logging.LogRecord], logging.Handler]:
    seen: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = seen.append  # type: ignore[method-assign]
    logger = logging.getLogger(PROGRESS_LOGGER)
    logger.propagate, logger.handlers = False, [handler]
    logger.setLevel(logging.INFO)
    return seen, handler


def test_short_work_is_silent_and_long_work_is_throttled() -> None:
    seen, _ = _records()
    clock = _Clock()
    with Progress("pull", "short", 100, clock=clock) as short:
        clock.now += 0.9
        short.advance(100)
    assert seen == []
    with Progress("pull", "long", 1000, clock=clock) as long:
        for _ in range(40):  # 4 s in steps of 0.1 s
            clock.now += 0.1
            long.advance(25)
    fields = [record.lamina_fields for record in seen]  # type: ignore[attr-defined]
    assert 10 <= len(fields) <= 14  # from 1 s on, every 0.25 s, and the end
    assert fields[0]["seconds"] >= 1.0 and fields[-1] == {**fields[-1], "done": 1000, "finished": True}
    logging.getLogger(PROGRESS_LOGGER).handlers = []


def _run_long(stream: io.StringIO, log_format: str, level: int = logging.INFO) -> str:
    renderer = configure_logging(log_format, level=level, stream=stream, progress_interval=0.3)
    try:
        with Progress("push", "blob", 10_000_000) as progress:
            deadline = time.monotonic() + 1.8
            while time.monotonic() < deadline:
                time.sleep(0.05)
                progress.advance(50_000)
        logging.getLogger("lamina").info("after")
    finally:
        if renderer is not None:
            renderer.close()
        configure_logging("text")
    return stream.getvalue()


def test_plain_lines_and_json_records_and_none_at_error_level() -> None:
    text = _run_long(io.StringIO(), "text")
    lines = [line for line in text.splitlines() if line.startswith("INFO push blob: ")]
    assert 2 <= len(lines) <= 5 and "ETA" in lines[0] and " in " in lines[-1], text
    assert "\x1b" not in text and "\r" not in text and text.endswith("INFO after\n")
    records = [json.loads(line) for line in _run_long(io.StringIO(), "json").splitlines()]
    progress = [entry for entry in records if entry.get("event") == "progress"]
    assert progress and progress[-1]["finished"] is True and progress[-1]["total"] == 10_000_000
    assert all(entry["bytes_per_second"] > 0 for entry in progress)
    assert _run_long(io.StringIO(), "text", logging.ERROR) == ""
