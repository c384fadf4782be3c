"""Progress of long work, watched as an operator sees it: a build whose base has a large,
incompressible layer, pulled and pushed through a slow loopback line, run in a tmux pane (live
bars that move and end in finished lines) and with stderr to a pipe (periodic plain lines with
bytes, rate and ETA, no cursor movement); the summary table's durations add up to the wall time."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.slow_proxy import slow_registry
from tests.support.executor import write_context
from tests.support.images import _tar_directory, make_busybox_rootfs, skopeo_push, write_oci_layout
from tests.support.registry import RunningRegistry

BIG_MB = 96  # the base's random layer
RUN_MB = 48  # the layer a RUN writes (and the build pushes)
LINE_RATE = 24e6  # bytes a second through the slow line: the pull takes about 4 s
DOCKERFILE = f"FROM {{base}}\nRUN dd if=/dev/urandom of=/made.bin bs=1M count={RUN_MB} 2>/dev/null\n"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@pytest.fixture(scope="module")
def big_base(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``busybox-big:latest``: busybox's root and a layer holding BIG_MB of random bytes."""
    work = tmp_path_factory.mktemp("big-base")
    big = work / "big.tar"
    payload = work / "big.bin"
    with open(payload, "wb") as out:
        for _ in range(BIG_MB):
            out.write(os.urandom(1 << 20))
    with tarfile.open(big, "w", format=tarfile.PAX_FORMAT) as tar:
        tar.add(payload, "big.bin")
    payload.unlink()
    layout = work / "layout"
    write_oci_layout(layout, "latest", [_tar_directory(make_busybox_rootfs(work / "rootfs")), big], {})
    return skopeo_push(f"oci:{layout}:latest", registry, "busybox-big", "latest")


@pytest.fixture
def slow(registry: RunningRegistry) -> Iterator[str]:
    with slow_registry(registry.host, LINE_RATE) as host:
        yield host


def _command(tmp_path: Path, slow: str, big_base: str, *extra: str) -> list[str]:
    base = big_base.replace(big_base.split("/")[0], slow, 1)
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=base))
    work = tmp_path / "work"
    return [sys.executable, "-m", "executor", "--context", str(context), "--root", str(work / "root"),
            "--kaniko-dir", str(work / "kaniko"), "--destination", f"{slow}/progress/app:latest",
            "--log-format=text", *extra]


def _env(tmp_path: Path, **more: str) -> dict[str, str]:
    return {**os.environ, "DOCKER_CONFIG": str(tmp_path / "no-docker-config"),
            "PYTHONPATH": str(Path(__file__).resolve().parents[2]), **more}


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is installed by scripts/setup.sh")
def test_bars_on_a_terminal_move_and_end(tmp_path: Path, slow: str, big_base: str) -> None:
    command = _command(tmp_path, slow, big_base)
    done = tmp_path / "exit-code"
    script = tmp_path / "build.sh"
    env = _env(tmp_path, TERM="xterm")
    script.write_text("#!/bin/sh\n" + "".join(f"export {k}={shlex.quote(v)}\n" for k, v in env.items()
                                                if k.isidentifier())
                      + f"{shlex.join(command)}\necho $? > {done}\nexec sleep 600\n")  # the pane stays to be read
    script.chmod(0o755)
    session = f"lamina-progress-{os.getpid()}"
    subprocess.run(["tmux", "-L", session, "new-session", "-d", "-s", session, "-x", "160", "-y", "50",
                    str(script)], check=True, env=env)
    captures: list[str] = []
    try:
        deadline = time.monotonic() + 240
        while not done.exists() and time.monotonic() < deadline:
            time.sleep(0.5)
            captures.append(_capture(session))
        time.sleep(0.3)
        final = _capture(session)
    finally:
        subprocess.run(["tmux", "-L", session, "kill-server"], capture_output=True)
    (tmp_path / "captures.txt").write_text("\n----\n".join([*captures, final]))  # to look at
    assert done.read_text().strip() == "0", final
    live = [c for c in captures if re.search(r"^pull .*\[#*\.+\] .*%.*ETA", c, re.M)]
    assert len(live) >= 2, "\n----\n".join(captures[-5:])
    percents = [int(re.search(r"^pull .*base image layer 2/2.* (\d+)%", c, re.M).group(1))  # type: ignore[union-attr]
                for c in live if re.search(r"^pull .*base image layer 2/2.* (\d+)%", c, re.M)]
    assert len(set(percents)) >= 2 and percents == sorted(percents), percents
    # the end: every bar left as one finished line, nothing half-drawn under the summary
    assert re.search(r"^pull .*layer 2/2 .*\[#{24}\] .*100% .* in \d+s", final, re.M), final
    assert re.search(r"^push .*\[#{24}\] .*100% .* in \d+s", final, re.M), final
    assert "ETA" not in final and "\x1b" not in final and "\r" not in final
    assert re.search(r"^total [\d.]+s: pull/extract", final, re.M), final


def _capture(session: str) -> str:
    # the whole pane with its scrollback: finished lines may have scrolled off the screen
    return subprocess.run(["tmux", "-L", session, "capture-pane", "-p", "-S", "-", "-t", session],
                          capture_output=True, text=True).stdout


@pytest.mark.slow
def test_a_pipe_gets_periodic_lines_and_the_summary_adds_up(tmp_path: Path, slow: str,
                                                            big_base: str) -> None:
    command = _command(tmp_path, slow, big_base, "--build-report", str(tmp_path / "report.json"))
    started = time.monotonic()
    result = subprocess.run(command, capture_output=True, text=True, timeout=240,
                            env=_env(tmp_path, LAMINA_PROGRESS_INTERVAL="1"))
    wall = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "\r" not in err and not ANSI.search(err)
    lines = re.findall(r"^INFO pull base image layer 2/2 \S+: .*$", err, re.M)
    assert len(lines) >= 3, err  # ~4 s at one line a second, then the finished line
    assert all(re.search(r": [\d.]+ MB/10\d\.\d MB +\d+% [\d.]+ MB/s (ETA \d+s|in \d+s)$", line)
               for line in lines), lines
    assert re.search(r"ETA \d+s$", lines[0]) and re.search(r"100% .* in \d+s$", lines[-1])
    assert re.search(r"^INFO push \S+ \S+: .*MB/s", err, re.M), err
    # the summary: its parts add up to its total, and the total to the wall time within 5%
    summary = re.search(r"^total ([\d.]+)s: pull/extract ([\d.]+)s, run ([\d.]+)s, snapshot "
                        r"([\d.]+)s, push/output ([\d.]+)s, other ([\d.]+)s$", err, re.M)
    assert summary, err
    total, *parts = (float(value) for value in summary.groups())
    steps = [float(value) for value in re.findall(r"^  +\d+  .* (?:run|cached) +([\d.]+)s", err, re.M)]
    assert steps and abs(sum(parts) - total) <= 0.05
    assert parts[0] > 3.0 and parts[3] > 1.0  # the slow pull and push are where the time went
    assert abs(total - wall) <= 0.05 * wall, (total, wall)
