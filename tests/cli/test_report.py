"""The build record made from events alone (no build): steps end where the next begins or at their
last record, the totals add up, and an error is the step's only while the step was unfinished."""

from __future__ import annotations

import logging
from typing import Any

from executor.cli.report import BuildRecorder, render_summary, report_json
from executor.errors import RunCommandFailed
from executor.events import event


class _Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def _emit(recorder: BuildRecorder, clock: _Clock, at: float, message: str, kind: str | None = None,
          level: int = logging.INFO, **fields: Any) -> None:
    clock.now = at
    extra = event(kind, **fields) if kind else {}
    record = logging.LogRecord("lamina", level, __file__, 1, message, (), None)
    record.__dict__.update(extra)
    record.created = at
    recorder.handle(record)


def _two_steps(recorder: BuildRecorder, clock: _Clock) -> None:
    _emit(recorder, clock, 101.0, "building stage 0", "stage.start", index=0, name=None,
          platform="linux/amd64", target="linux/amd64")
    _emit(recorder, clock, 103.0, "RUN make", "step.start", line=2, keyword="RUN")
    _emit(recorder, clock, 104.0, "root built", "root.built", stage=0, seconds=0.5)
    _emit(recorder, clock, 107.0, "layer", "layer.written", digest="sha256:aa", size=2048, seconds=1.0)
    _emit(recorder, clock, 108.0, "ENV A=1", "step.start", line=3, keyword="ENV")
    _emit(recorder, clock, 108.5, "careful", level=logging.WARNING)


def test_steps_and_totals_from_events() -> None:
    clock = _Clock()
    recorder = BuildRecorder(clock)
    _two_steps(recorder, clock)
    _emit(recorder, clock, 110.0, "pushed", "manifest.pushed", destination="r/app:1", digest="sha256:bb")
    _emit(recorder, clock, 110.5, "built", "image.built", digest="sha256:bb")
    clock.now = 111.0
    record = recorder.finish(None)
    report = report_json(record)
    run, env = report["stages"][0]["steps"]
    assert (run["duration_seconds"], run["layer"], run["cache"]) == (5.0, {"digest": "sha256:aa", "size": 2048}, "miss")
    assert env["duration_seconds"] == 0.5 and env["layer"] is None  # ended at its last record
    assert report["totals"] == {"pull_extract": 2.5, "run": 4.0, "snapshot": 1.0, "push": 2.5,
                                "other": 1.0, "total": 11.0}
    assert report["warnings"] == ["careful"] and report["pushed"][0]["destination"] == "r/app:1"
    table = render_summary(record)
    assert "   2  RUN make" in table and "2.0 kB" in table and "total 11.00s" in table


def test_a_failure_after_the_last_step_finished_is_not_the_steps() -> None:
    clock = _Clock()
    recorder = BuildRecorder(clock)
    _emit(recorder, clock, 101.0, "building stage 0", "stage.start", index=0)
    _emit(recorder, clock, 102.0, "RUN make", "step.start", line=2, keyword="RUN")
    _emit(recorder, clock, 103.0, "layer", "layer.written", digest="sha256:aa", size=1, seconds=0.1)
    report = report_json(recorder.finish(OSError("connection reset while pushing")))
    assert report["status"] == "failed" and report["error"]["line"] is None
    assert report["error"]["message"] == "connection reset while pushing"


def test_a_failing_run_is_named() -> None:
    clock = _Clock()
    recorder = BuildRecorder(clock)
    _two_steps(recorder, clock)
    _emit(recorder, clock, 109.0, "RUN false", "step.start", line=4, keyword="RUN")
    report = report_json(recorder.finish(RunCommandFailed("false", 1, line=4)))
    assert report["error"]["line"] == 4 and report["error"]["instruction"] == "RUN false"
    assert [s["status"] for s in report["stages"][0]["steps"]] == ["done", "done", "failed"]
    assert "FAILED" in render_summary(recorder.record)
