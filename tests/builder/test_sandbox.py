"""Sandbox mode leaves the host alone: nothing outside --root and the kaniko dir changes, no mounts or
processes stay behind, even when a RUN fails or the build is interrupted."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

# Host system directories nothing else on the machine changes during a test run (/tmp and /root
# are busy with other processes, so the test checks for what the build would leave there instead).
WATCHED = [Path("/"), Path("/etc"), Path("/bin"), Path("/usr/bin"), Path("/sbin")]


def host_state(extra: Path) -> dict[str, str]:
    """Names, types, sizes, modes and mtimes of the watched host dirs (one level), plus key files."""
    state = {}
    for directory in [*WATCHED, extra]:
        for entry in sorted(os.scandir(directory), key=lambda e: e.name):
            if directory == Path("/") and entry.name in ("tmp", "root", "run", "var", "proc", "dev", "sys"):
                continue  # busy with other processes; covered by the explicit checks
            st = entry.stat(follow_symlinks=False)
            state[entry.path] = f"{st.st_mode:o} {st.st_size} {st.st_mtime_ns}"
    for name in ("/etc/hosts", "/etc/resolv.conf", "/etc/passwd"):
        state[name + "#sha"] = hashlib.sha256(Path(name).read_bytes()).hexdigest()
    return state


def mounts_under(path: Path) -> list[str]:
    return [line for line in Path("/proc/self/mountinfo").read_text().splitlines() if str(path) in line]


def lingering(marker: str) -> list[str]:
    result = subprocess.run(["pgrep", "-af", marker], capture_output=True, text=True)
    return [line for line in result.stdout.splitlines() if "pgrep" not in line]


def test_host_untouched_by_writes_deletes_and_failure(tmp_path: Path, registry: RunningRegistry,
                                                      busybox_image: str) -> None:
    neighbour = tmp_path / "neighbour"
    neighbour.mkdir()
    (neighbour / "keep.txt").write_text("keep\n")
    dockerfile = f"""FROM {busybox_image}
RUN echo new > /etc/newfile && echo 1.2.3.4 evil >> /etc/hosts && echo nameserver 9.9.9.9 > /etc/resolv.conf
RUN rm -rf /usr /etc/passwd /root && echo x > /dev/null && ls /proc/self/ > /dev/null
RUN (sleep 4242 &) ; touch /tmp/lamina-was-here ; mkdir -p /tmp/../../../escape-attempt
RUN exit 3
"""
    context = write_context(tmp_path / "context", dockerfile)
    before = host_state(neighbour)
    run = run_executor(tmp_path, context, "--destination", registry.ref("sandbox/fail"))
    assert run.returncode == 3, run.stderr
    assert host_state(neighbour) == before
    assert not Path("/escape-attempt").exists()
    assert not Path("/tmp/lamina-was-here").exists() and not Path("/etc/newfile").exists()
    assert mounts_under(tmp_path) == []
    assert lingering("sleep 4242") == []
    # The writes happened, inside the root only.
    assert (run.root / "etc/newfile").read_text() == "new\n"
    assert not (run.root / "usr").exists()
    assert (run.root / "escape-attempt").is_dir()


def test_interrupted_build_leaves_no_mount_or_process(tmp_path: Path, busybox_image: str,
                                                      registry: RunningRegistry) -> None:
    dockerfile = f"FROM {busybox_image}\nRUN touch /started && sleep 4343\n"
    context = write_context(tmp_path / "context", dockerfile)
    root, kaniko = tmp_path / "root", tmp_path / "kaniko"
    process = subprocess.Popen(
        [sys.executable, "-m", "executor", "--context", str(context), "--root", str(root),
         "--kaniko-dir", str(kaniko), "--destination", registry.ref("sandbox/interrupted")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (root / "started").exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    started = time.monotonic()
    _, stderr = process.communicate(timeout=20)
    assert process.returncode != 0
    assert time.monotonic() - started < 10
    assert "Traceback" not in stderr
    assert mounts_under(tmp_path) == []
    assert lingering("sleep 4343") == []
    result = subprocess.run(["skopeo", "inspect", "--tls-verify=false",
                             f"docker://{registry.ref('sandbox/interrupted')}"], capture_output=True)
    assert result.returncode != 0
