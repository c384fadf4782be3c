"""--log-format: text as before, json one object a line carrying the build's structured events."""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path

from executor.cli.logs import JsonFormatter, TextFormatter, configure_logging
from executor.events import event
from tests.support.executor import run_executor, write_context


def _record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("lamina", logging.INFO, __file__, 1, message, args, None)
    record.__dict__.update(extra)
    return record


def test_json_lines_carry_level_time_message_and_event_fields() -> None:
    line = JsonFormatter().format(_record("layer %s", "sha256:ab", **event("layer.written", size=3)))
    entry = json.loads(line)
    assert entry["level"] == "info" and entry["msg"] == "layer sha256:ab"
    assert entry["event"] == "layer.written" and entry["size"] == 3
    assert entry["time"].endswith("Z")


def test_text_is_level_and_message_with_colour_and_time_only_when_asked() -> None:
    assert TextFormatter().format(_record("hello")) == "INFO hello"
    assert TextFormatter(color=True).format(_record("hello")).startswith("\x1b[36mINFO\x1b[0m ")
    stamped = TextFormatter(timestamp=True).format(_record("hello"))
    assert stamped.endswith(" INFO hello") and stamped[:4].isdigit()


def test_color_is_plain_text_off_a_terminal() -> None:
    stream = io.StringIO()
    configure_logging("color", stream=stream)
    try:
        logging.getLogger("lamina").info("plain")
    finally:
        configure_logging("text")
    assert stream.getvalue() == "INFO plain\n"


def test_a_build_logged_as_json_reports_its_events(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY a.txt /a.txt\n", {"a.txt": "a\n"})
    run = run_executor(tmp_path, context, "--no-push", "--log-format=json")
    assert run.returncode == 0, run.stderr
    entries = [json.loads(line) for line in run.stderr.splitlines()]
    events = [e["event"] for e in entries if "event" in e]
    assert events == ["stage.start", "root.built", "step.start", "layer.written", "image.built"]
    [built] = [e for e in entries if e.get("event") == "image.built"]
    assert built["digest"].startswith("sha256:")
    [step] = [e for e in entries if e.get("event") == "step.start"]
    assert step["line"] == 2 and step["keyword"] == "COPY"
