"""The build report says why each step missed the cache: a multi-stage build with --cache built
once, then again with one thing changed (a context file, a build arg, an instruction); the second
report, written over the first, names what changed, and steps after the first miss say so."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.registry import RunningRegistry

DOCKERFILE = """FROM {base} AS tools
COPY app.txt /app.txt
RUN cat /app.txt > /tool
FROM {base}
ARG FLAVOR=plain
COPY --from=tools /tool /tool
RUN echo "$FLAVOR" > /flavor
RUN {last}
"""


def _build(tmp_path: Path, registry: RunningRegistry, base: str, name: str, run: str,
           *, app: str = "one", last: str = "echo done > /done", flags: tuple[str, ...] = ()
           ) -> tuple[ExecutorRun, dict[str, Any]]:
    context = write_context(tmp_path / f"context-{run}", DOCKERFILE.format(base=base, last=last),
                            {"app.txt": app})
    report = tmp_path / "report.json"  # the same file both times: the first is the baseline
    result = run_executor(tmp_path / run, context, "--destination", registry.ref(f"misses/{name}"),
                          "--cache", "--cache-copy-layers", "--cache-repo",
                          f"{registry.host}/misses/{name}-cache", "--log-format=text",
                          "--build-report", str(report), *flags)
    assert result.returncode == 0, result.stderr
    return result, json.loads(report.read_text())


def _steps(report: dict[str, Any]) -> dict[int, dict[str, Any]]:
    return {step["line"]: step for stage in report["stages"] for step in stage["steps"]}


def _twice(tmp_path: Path, registry: RunningRegistry, base: str, name: str,
           **second: Any) -> tuple[ExecutorRun, dict[int, dict[str, Any]]]:
    _, first = _build(tmp_path, registry, base, name, "one")
    assert {line: step["reason"] for line, step in _steps(first).items() if step["cacheable"]} == {
        2: "not in the cache (no earlier --build-report to compare with)",
        3: "not in the cache (no earlier --build-report to compare with)",
        7: "not in the cache (no earlier --build-report to compare with)",
        8: "not in the cache (no earlier --build-report to compare with)"}
    run, report = _build(tmp_path, registry, base, name, "two", **second)
    assert all(stage["base"]["digest"].startswith("sha256:") for stage in report["stages"])
    return run, _steps(report)


@pytest.mark.slow
def test_a_changed_context_file_is_named(tmp_path: Path, registry: RunningRegistry,
                                         busybox_image: str) -> None:
    run, steps = _twice(tmp_path, registry, busybox_image, "file", app="two")
    assert steps[2]["cache"] == "miss" and steps[2]["reason"] == "context file app.txt changed"
    assert steps[3]["reason"] == "an earlier step changed (line 2), so every key after it differs"
    # the next stage copies the changed stage's file: COPY --from (never cached itself) changed,
    # and the RUN after it says so
    assert steps[6]["cacheable"] is False and steps[6]["reason"] is None
    assert steps[7]["reason"] == "an earlier step changed (line 6), so every key after it differs"
    assert "missed: context file app.txt changed" in run.stderr  # the summary table says it too


@pytest.mark.slow
def test_a_changed_build_arg_is_named(tmp_path: Path, registry: RunningRegistry,
                                      busybox_image: str) -> None:
    _, steps = _twice(tmp_path, registry, busybox_image, "arg", flags=("--build-arg", "FLAVOR=spicy"))
    assert [steps[line]["cache"] for line in (2, 3)] == ["hit", "hit"]
    assert steps[7]["cache"] == "miss" and steps[7]["reason"] == "build arg FLAVOR changed"
    assert "spicy" not in json.dumps(steps)  # values stay out of the report: digests only
    assert steps[8]["reason"] == "build arg FLAVOR changed"  # in scope for it too: part of its key


@pytest.mark.slow
def test_a_changed_instruction_is_named(tmp_path: Path, registry: RunningRegistry,
                                        busybox_image: str) -> None:
    _, steps = _twice(tmp_path, registry, busybox_image, "instruction", last="echo finished > /done")
    assert [steps[line]["cache"] for line in (2, 3, 7)] == ["hit"] * 3
    assert steps[8]["cache"] == "miss"
    assert steps[8]["reason"] == "the instruction changed (was: RUN echo done > /done)"
    assert all(step["reason"] is None for line, step in steps.items() if line != 8)
