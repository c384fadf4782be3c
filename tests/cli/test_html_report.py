"""``executor report FILE.json -o report.html`` from a real multi-stage build's report, rendered
by headless Chromium: after its script runs, the page has a bar and a table row for every step,
with the instructions and durations the report gives, bars for the stages, the base pulls and
the push, and fetches nothing. The screenshot it makes is docs/report-screenshot.png when
LAMINA_REPORT_SCREENSHOT names that path (`LAMINA_REPORT_SCREENSHOT=docs/report-screenshot.png
pytest tests/cli/test_html_report.py`)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DOCKERFILE = """FROM {base} AS tools
RUN echo built > /tool && sleep 1
FROM {base}
COPY --from=tools /tool /tool
RUN cat /tool > /copied && echo "a rather long command line, as real builds have" > /long
ENV DONE=yes
"""


class _Elements(HTMLParser):
    """Every element's tag, attributes and text, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str], list[str]]] = []
        self._open: list[list[str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        texts: list[str] = []
        self.found.append((tag, {k: v or "" for k, v in attrs}, texts))
        if tag not in ("br", "meta"):
            self._open.append(texts)

    def handle_endtag(self, tag: str) -> None:
        if self._open and tag not in ("br", "meta"):
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for texts in self._open:
            texts.append(data)

    def with_class(self, *classes: str) -> list[tuple[dict[str, str], str]]:
        return [(attrs, "".join(texts)) for _, attrs, texts in self.found
                if set(classes) <= set(attrs.get("class", "").split())]


def _chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM
    return subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                           "--no-first-run", "--disable-extensions", *args],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is installed by scripts/setup.sh")
def test_the_page_shows_every_step_as_a_bar_and_a_row(tmp_path: Path, registry: RunningRegistry,
                                                       busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    report_path = tmp_path / "report.json"
    build = run_executor(tmp_path / "work", context, "--destination", registry.ref("html/app"),
                         "--build-report", str(report_path))
    assert build.returncode == 0, build.stderr
    page = tmp_path / "report.html"
    made = subprocess.run([sys.executable, "-m", "executor", "report", str(report_path), "-o", str(page)],
                          capture_output=True, text=True)
    assert made.returncode == 0, made.stderr
    text = page.read_text()
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)  # self-contained

    dom = _chromium("--dump-dom", page.as_uri())
    assert dom.returncode == 0, dom.stderr
    elements = _Elements()
    elements.feed(dom.stdout)
    report = json.loads(report_path.read_text())
    steps = [step for stage in report["stages"] for step in stage["steps"]]
    rows, bars = elements.with_class("step-row"), elements.with_class("bar", "step")
    assert len(rows) == len(bars) == len(steps) == 4
    for step, (_, row), (bar, _) in zip(steps, rows, bars):
        assert step["instruction"] in row and f"{step['duration_seconds']:.2f}s" in row
        assert float(bar["data-seconds"]) == pytest.approx(step["duration_seconds"], abs=0.001)
        assert re.fullmatch(r"left: [\d.]+%; width: [\d.]+%;", bar["style"]), bar
    assert len(elements.with_class("bar", "stage")) == 2
    assert len(elements.with_class("bar", "pull")) == 2 and len(elements.with_class("bar", "push")) == 1
    # bars sit in time order: the second stage's steps start after the first stage's
    starts = [float(bar["data-start"]) for bar, _ in bars]
    assert starts == sorted(starts)

    shot = tmp_path / "report.png"
    _chromium(f"--screenshot={shot}", "--window-size=1280,900", "--hide-scrollbars", page.as_uri())
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    wanted = os.environ.get("LAMINA_REPORT_SCREENSHOT")
    if wanted:
        shutil.copy(shot, wanted)


def test_a_file_that_is_not_a_report_is_one_error_line(tmp_path: Path) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"hello": 1}')
    made = subprocess.run([sys.executable, "-m", "executor", "report", str(other), "-o",
                           str(tmp_path / "x.html")], capture_output=True, text=True)
    assert made.returncode != 0 and not (tmp_path / "x.html").exists()
    assert made.stderr.strip().splitlines() == [
        f"error: {other}: not a build report of schema lamina.build-report/v1; pass the file "
        "--build-report wrote"]
