"""--build-report FILE and the summary table on stderr, from real builds: a multi-stage build with
--cache built twice (the second report says which steps came from the cache), a failing RUN (the
report names it), and the table listing each step."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from executor.cli.report import SCHEMA
from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base} AS tools
RUN echo built > /tool
FROM {base}
COPY --from=tools /tool /tool
RUN cat /tool > /copied && echo "a rather long command line that the table truncates" > /long
ENV DONE=yes
"""


def _build(workdir: Path, context: Path, registry: RunningRegistry, name: str,
           *flags: str) -> tuple[ExecutorRun, dict[str, Any]]:
    report = workdir / "out" / "report.json"
    run = run_executor(workdir, context, "--destination", registry.ref(f"report/{name}"),
                       "--cache", "--cache-repo", f"{registry.host}/report/cache",
                       "--log-format=text", "--build-report", str(report), *flags)
    return run, json.loads(report.read_text())


def _steps(report: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for stage in report["stages"] for step in stage["steps"]]


@pytest.mark.slow
def test_second_build_reports_the_cache_hits_and_the_table_lists_each_step(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    first, report = _build(tmp_path / "one", context, registry, "one")
    assert first.returncode == 0, first.stderr
    assert report["schema"] == SCHEMA and report["status"] == "succeeded" and report["error"] is None
    assert [stage["index"] for stage in report["stages"]] == [0, 1]
    steps = _steps(report)
    assert [(s["line"], s["keyword"]) for s in steps] == [(2, "RUN"), (4, "COPY"), (5, "RUN"), (6, "ENV")]
    assert all(s["cache"] == "miss" and s["status"] == "done" for s in steps)
    run_layer = steps[0]["layer"]
    assert run_layer["digest"].startswith("sha256:") and run_layer["size"] > 0
    assert steps[3]["layer"] is None  # ENV changes no files
    image = report["image"]["digest"]
    assert image.startswith("sha256:")
    assert {"destination": registry.ref("report/one"), "digest": image, "how": "pushed"} in report["pushed"]
    totals = report["totals"]
    parts = sum(value for key, value in totals.items() if key != "total")
    assert abs(parts - totals["total"]) < 0.01 and totals["total"] <= report["duration_seconds"] + 0.01
    assert sum(s["duration_seconds"] for s in steps) <= totals["total"]

    # the table: one row per step with its line, then the totals
    table = first.stderr[first.stderr.index("STEP"):]
    rows = [line for line in table.splitlines() if line.startswith("  ")]
    assert [row.split()[0] for row in rows] == ["2", "4", "5", "6"]
    assert all(len(row) < 100 for row in rows) and "…" in rows[2]
    assert all(" run " in row for row in rows)
    assert table.splitlines()[len(rows) + 3].startswith("total ") and "push/output" in table

    second, again = _build(tmp_path / "two", context, registry, "two")
    assert second.returncode == 0, second.stderr
    hits = {s["line"]: s["cache"] for s in _steps(again)}
    assert hits[2] == "hit" and hits[5] == "hit"  # RUN steps come from the cache
    cached = next(s for s in _steps(again) if s["line"] == 2)
    assert cached["cache_key"] and cached["layer"]["digest"] == run_layer["digest"]
    assert " cached " in second.stderr[second.stderr.index("STEP"):]


@pytest.mark.slow
def test_a_failing_run_writes_a_report_naming_the_step(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context",
                            f"FROM {busybox_image}\nRUN echo fine > /fine\nRUN echo oops && exit 3\n")
    run, report = _build(tmp_path / "fail", context, registry, "fail")
    assert run.returncode != 0 and run.error_lines
    assert report["status"] == "failed" and report["image"] is None
    error = report["error"]
    assert error["line"] == 3 and "exit 3" in error["instruction"] and error["stage"] == 0
    assert error["message"] and error["message"] in run.error_lines[0]
    assert [s["status"] for s in _steps(report)] == ["done", "failed"]
    assert " FAILED " in run.stderr
    report_dir = tmp_path / "fail" / "out"
    assert os.listdir(report_dir) == ["report.json"]  # written aside and renamed: no partial left
