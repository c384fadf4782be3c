"""The benchmark's own code runs in CI: one lamina build of ``small``, a report written. Not a timing
test (the committed docs/BENCHMARKS.md holds the timings)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench.measure import measure

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_bench_small_writes_a_report(tmp_path: Path) -> None:
    report = tmp_path / "BENCHMARKS.md"
    result = subprocess.run(
        [sys.executable, str(REPO / "bench/run.py"), "--runs", "1", "--workloads", "small",
         "--skip-buildah", "--skip-docker", "--report", str(report), "--workdir", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "small      lamina  run 1/1:" in result.stdout and "ok" in result.stdout
    text = report.read_text()
    assert text.startswith("# Benchmarks: lamina against buildah")
    assert "| small |" in text and "--skip-buildah" in text and "## Machine" in text


def test_measure_counts_the_whole_process_tree() -> None:
    # A child holding ~64 MiB under a shell: the tree's peak must include it.
    script = "import time; b = bytearray(64 << 20); b[::4096] = b'x' * len(b[::4096]); time.sleep(0.5)"
    m = measure(["sh", "-c", f"{sys.executable} -c \"{script}\"; true"])
    assert m.returncode == 0
    assert m.peak_rss > 64 << 20
    assert m.seconds >= 0.5


def test_measure_does_not_count_the_measuring_process() -> None:
    # A subprocess starts from this process's memory (vfork, then exec keeps the old high-water
    # mark in ru_maxrss): a tiny command must not weigh what the bench holds.
    ballast = bytearray(200 << 20)
    ballast[::4096] = b"x" * len(ballast[::4096])
    m = measure(["sleep", "0.2"])
    assert m.returncode == 0
    assert m.peak_rss < 50 << 20, m.peak_rss
    del ballast
