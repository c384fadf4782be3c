"""What an operator sees after a build: the build's structured events (``executor/events.py``)
gathered by a log handler into a ``BuildRecord``, written as ``--build-report FILE`` (the schema
is docs/BUILD_REPORT.md) and as a per-step summary table on stderr.

Only events are read, never log messages: a step's end is the last record logged while it was
the current step, or the start of the next step or stage."""

from __future__ import annotations

import datetime
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from executor.atomic import write_text_atomically
from executor.cli.misses import FOLLOWS, baseline_steps, miss_reason
from executor.events import EVENT, FIELDS

__all__ = ["SCHEMA", "BuildRecord", "BuildRecorder", "StageRecord", "StepRecord", "render_summary",
           "report_json", "write_report"]

SCHEMA = "lamina.build-report/v1"
INSTRUCTION_WIDTH = 48  # the summary table's instruction column
# events that begin something new: the step before them ended when they began
_STARTS = ("step.start", "stage.start", "stage.shared")
# events of the output phase (push, tarball): the last step ended at the record before them
_OUTPUTS = ("push.start", "blob.pushed", "manifest.pushed", "manifest.kept", "image.built")


@dataclass
class StepRecord:
    line: int
    keyword: str
    instruction: str
    started: float
    ended: float | None = None
    cached: bool = False
    cache_key: str | None = None
    layer_digest: str | None = None
    layer_size: int | None = None
    layer_seconds: float = 0.0  # writing its layer (tar, compression, digest)
    extract_seconds: float = 0.0  # extracting the base the step needed (root.built)
    failed: bool = False
    finished: bool = False  # its layer written or taken from the cache: a later error is not its
    inputs: dict[str, Any] | None = None  # what went into its cache key (step.inputs)
    cacheable: bool = False  # its layer may come from the cache (so a miss has a reason)
    reason: str | None = None  # why a cacheable step missed (executor/cli/misses.py)

    @property
    def seconds(self) -> float:
        return max(0.0, (self.ended or self.started) - self.started)


@dataclass
class StageRecord:
    index: int
    name: str | None
    platform: str | None
    target: str | None
    started: float
    ended: float | None = None
    all_cached: bool = False  # stage.cached: every step from the cache, the base never extracted
    shared_with: str | None = None  # stage.shared: built once, for this other target platform
    base: dict[str, str] | None = None  # base.pulled: the base image's name and manifest digest
    steps: list[StepRecord] = field(default_factory=list)

    @property
    def seconds(self) -> float:
        return max(0.0, (self.ended or self.started) - self.started)

    @property
    def prepare_seconds(self) -> float:
        """From the stage's start to its first step: resolving and pulling the base."""
        first = self.steps[0].started if self.steps else (self.ended or self.started)
        return max(0.0, first - self.started)


@dataclass
class BuildRecord:
    started: float
    ended: float | None = None
    stages: list[StageRecord] = field(default_factory=list)
    pushed: list[dict[str, str]] = field(default_factory=list)
    blobs: dict[str, int] = field(default_factory=dict)  # how (uploaded, mounted, ...) -> count
    warnings: list[str] = field(default_factory=list)
    image_digest: str | None = None
    platform_images: dict[str, str] = field(default_factory=dict)
    output_started: float | None = None
    error: str | None = None
    compared: bool = False  # the misses' reasons come from comparing with an earlier report

    @property
    def steps(self) -> list[StepRecord]:
        return [step for stage in self.stages for step in stage.steps]

    @property
    def failed_step(self) -> tuple[StageRecord, StepRecord] | None:
        return next(((stage, step) for stage in self.stages for step in stage.steps if step.failed), None)

    def totals(self) -> dict[str, float]:
        """Where the time went; the parts add up to ``total``."""
        steps = self.steps
        total = max(0.0, (self.ended or self.started) - self.started)
        extract = sum(step.extract_seconds for step in steps)
        snapshot = sum(step.layer_seconds for step in steps)
        run = sum(step.seconds for step in steps) - extract - snapshot
        pull = sum(stage.prepare_seconds for stage in self.stages) + extract
        output = max(0.0, (self.ended or 0.0) - self.output_started) if self.output_started else 0.0
        parts = {"pull_extract": pull, "run": max(0.0, run), "snapshot": snapshot, "push": output}
        parts["other"] = max(0.0, total - sum(parts.values()))  # parsing, planning, stage hand-over
        return {key: round(value, 3) for key, value in {**parts, "total": total}.items()}


class BuildRecorder(logging.Handler):
    """A log handler that turns the build's events into a ``BuildRecord``."""

    def __init__(self, clock: Callable[[], float] = time.time, started: float | None = None) -> None:
        super().__init__(level=logging.DEBUG)
        self.clock = clock
        now = clock()
        self.record = BuildRecord(started=now if started is None or started > now else started)
        self._step: StepRecord | None = None
        self._last_seen = self.record.started  # the time of the last record while a step was open

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.WARNING and record.name.startswith("lamina"):
            self.record.warnings.append(record.getMessage())
        kind = getattr(record, EVENT, None)
        fields: dict[str, Any] = getattr(record, FIELDS, {}) if kind else {}
        if kind in _STARTS or kind in ("stage.cached", "stage.extracted"):
            self._close_step(record.created if kind in _STARTS else None)
        elif kind in _OUTPUTS:
            self._close_step(self._last_seen)
            self._end_stage(self._last_seen)
            if self.record.output_started is None:
                self.record.output_started = self._last_seen
        if kind is not None:
            self._on_event(kind, fields, record)
        self._last_seen = record.created

    def _on_event(self, kind: str, fields: dict[str, Any], record: logging.LogRecord) -> None:
        build, step = self.record, self._step
        if kind in ("stage.start", "stage.shared"):
            self._end_stage(record.created)
            build.stages.append(StageRecord(
                index=fields.get("index", len(build.stages)), name=fields.get("name"),
                platform=fields.get("platform"), target=fields.get("target"), started=record.created,
                shared_with=fields.get("built_for")))
        elif kind == "step.start" and build.stages:
            self._step = StepRecord(line=fields.get("line", 0), keyword=fields.get("keyword", ""),
                                    instruction=record.getMessage(), started=record.created)
            build.stages[-1].steps.append(self._step)
        elif kind == "step.inputs" and step is not None:
            step.cache_key, step.inputs = fields.get("key"), fields.get("inputs")
            step.cacheable = bool(fields.get("cacheable"))
        elif kind == "base.pulled" and build.stages and build.stages[-1].base is None:
            build.stages[-1].base = {"name": str(fields.get("name")), "digest": str(fields.get("digest"))}
        elif kind == "step.cached" and step is not None:
            step.cached, step.cache_key, step.layer_digest = True, fields.get("key"), fields.get("layer")
            step.finished = True
        elif kind == "layer.written" and step is not None:
            step.layer_digest, step.layer_size = fields.get("digest"), fields.get("size")
            step.layer_seconds += float(fields.get("seconds") or 0.0)
            step.finished = True
        elif kind == "root.built" and step is not None:
            step.extract_seconds += float(fields.get("seconds") or 0.0)
        elif kind == "stage.cached" and build.stages:
            build.stages[-1].all_cached = True
        elif kind == "blob.pushed":
            how = str(fields.get("how", "pushed"))
            build.blobs[how] = build.blobs.get(how, 0) + 1
        elif kind in ("manifest.pushed", "manifest.kept"):
            build.pushed.append({"destination": str(fields.get("destination")),
                                 "digest": str(fields.get("digest")),
                                 "how": "kept" if kind == "manifest.kept" else "pushed"})
        elif kind == "image.built":
            build.image_digest = fields.get("digest")
            build.platform_images = dict(fields.get("images") or {})

    def _close_step(self, when: float | None) -> None:
        if self._step is not None:
            self._step.ended = when if when is not None else self._last_seen
            self._step = None

    def _end_stage(self, when: float) -> None:
        if self.record.stages and self.record.stages[-1].ended is None:
            self.record.stages[-1].ended = when

    def finish(self, error: BaseException | None,
               baseline: dict[str, Any] | None = None) -> BuildRecord:
        """The record of the build, once it succeeded or failed with ``error``; ``baseline``
        (the previous build's report) explains the cache misses."""
        now = self.clock()
        if error is not None:
            self.record.error = str(error).splitlines()[0] if str(error) else type(error).__name__
            step = self._step  # the step open when the build stopped, unless it had finished
            if step is not None and (getattr(error, "line", None) == step.line or not step.finished):
                step.failed = True
        self._close_step(now)
        self._end_stage(now if self.record.output_started is None else self.record.output_started)
        self.record.ended = now
        _explain_misses(self.record, baseline)
        return self.record


def _explain_misses(record: BuildRecord, baseline: dict[str, Any] | None) -> None:
    """A reason for every cacheable step that missed; a step the cache never keeps (COPY
    --from, ENV) whose own inputs changed is still the change the steps after it follow."""
    earlier = baseline_steps(baseline)
    record.compared = baseline is not None
    for stage in record.stages:
        changed: int | None = None  # the last step of the stage that missed or changed
        for position, step in enumerate(stage.steps):
            if step.cached or step.inputs is None and not step.cacheable:
                continue
            reason = miss_reason(step.inputs, earlier.get((stage.index, position)), changed,
                                 baseline is not None)
            if step.cacheable:
                step.reason, changed = reason, step.line
            elif not reason.startswith(FOLLOWS) and not reason.startswith("same inputs"):
                changed = step.line


def _time(moment: float) -> str:
    return datetime.datetime.fromtimestamp(moment, datetime.UTC).isoformat(
        timespec="milliseconds").replace("+00:00", "Z")


def _step_json(step: StepRecord) -> dict[str, Any]:
    layer = None if step.layer_digest is None else {"digest": step.layer_digest, "size": step.layer_size}
    return {"line": step.line, "keyword": step.keyword, "instruction": step.instruction,
            "cache": "hit" if step.cached else "miss", "cache_key": step.cache_key,
            "started": _time(step.started), "duration_seconds": round(step.seconds, 3),
            "snapshot_seconds": round(step.layer_seconds, 3), "layer": layer,
            "status": "failed" if step.failed else "done", "cacheable": step.cacheable,
            "reason": step.reason, "inputs": step.inputs}


def report_json(record: BuildRecord) -> dict[str, Any]:
    """The report as docs/BUILD_REPORT.md describes it."""
    failed = record.failed_step
    error = None
    if record.error is not None:
        error = {"message": record.error, "stage": failed[0].index if failed else None,
                 "line": failed[1].line if failed else None,
                 "instruction": failed[1].instruction if failed else None}
    return {
        "schema": SCHEMA,
        "status": "failed" if record.error is not None else "succeeded",
        "started": _time(record.started), "finished": _time(record.ended or record.started),
        "duration_seconds": round((record.ended or record.started) - record.started, 3),
        "image": {"digest": record.image_digest, "platforms": record.platform_images}
        if record.image_digest else None,
        "stages": [{"index": stage.index, "name": stage.name, "platform": stage.platform,
                    "target": stage.target, "started": _time(stage.started),
                    "duration_seconds": round(stage.seconds, 3),
                    "prepare_seconds": round(stage.prepare_seconds, 3),
                    "all_cached": stage.all_cached, "shared_with": stage.shared_with,
                    "base": stage.base,
                    "steps": [_step_json(step) for step in stage.steps]} for stage in record.stages],
        "push": {"started": _time(record.output_started),
                 "duration_seconds": round(max(0.0, (record.ended or 0.0) - record.output_started), 3)}
        if record.output_started else None,
        "pushed": record.pushed, "blobs": record.blobs, "warnings": record.warnings,
        "totals": record.totals(), "error": error,
    }


def write_report(path: Path, record: BuildRecord) -> None:
    write_text_atomically(path, json.dumps(report_json(record), indent=2, ensure_ascii=False) + "\n")


def _size(size: int | None) -> str:
    if size is None:
        return "-"
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"  # pragma: no cover (the loop returns)


def _truncate(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[:width - 1] + "…"


def render_summary(record: BuildRecord) -> str:
    """The per-step table and the totals, for stderr at the end of a build."""
    lines = [f"{'STEP':<{INSTRUCTION_WIDTH + 8}} {'RESULT':<7} {'TIME':>8} {'LAYER':>9}"]
    for stage in record.stages:
        title = f"stage {stage.index}" + (f" ({stage.name})" if stage.name else "")
        if stage.shared_with:
            title += f": built for {stage.shared_with}"
        lines.append(f"{title}  [base {stage.prepare_seconds:.2f}s]")
        for step in stage.steps:
            result = "FAILED" if step.failed else "cached" if step.cached else "run"
            text = f"{step.line:>4}  {_truncate(step.instruction, INSTRUCTION_WIDTH)}"
            lines.append(f"  {text:<{INSTRUCTION_WIDTH + 6}} {result:<7} {step.seconds:>7.2f}s "
                         f"{_size(step.layer_size):>9}")
            if step.reason and record.compared:  # without an earlier report every miss says so
                lines.append(f"        missed: {_truncate(step.reason, INSTRUCTION_WIDTH + 30)}")
    totals = record.totals()
    lines.append("total {total:.2f}s: pull/extract {pull_extract:.2f}s, run {run:.2f}s, snapshot "
                 "{snapshot:.2f}s, push/output {push:.2f}s, other {other:.2f}s".format(**totals))
    return "\n".join(lines) + "\n"


def print_summary(record: BuildRecord, stream: TextIO) -> None:
    stream.write(render_summary(record))
    stream.flush()
