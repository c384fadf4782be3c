"""Wall time and peak memory of a whole process tree.

Peak memory is the largest sum of VmRSS over the tree (the command and every descendant), sampled
from /proc every few milliseconds. Not ``getrusage(RUSAGE_CHILDREN).ru_maxrss``: that is the peak of
the single largest process, which hides the registry push of buildah or lamina's helper processes.
The sampled figure can miss a peak shorter than the interval, so the larger of it and the largest
per-process high-water mark seen (``VmHWM``, which exec resets) is reported. Not ``wait4``'s
``ru_maxrss``: exec keeps the old memory's high-water mark, and a child made by vfork (as
subprocess does) starts from the bench's own, so every build would weigh at least the bench. Not cgroup ``memory.peak`` either: it counts the page
cache of every file a build writes, which measures the workload, not the builder.

A client whose work happens in a daemon (the docker CLI asking dockerd, which runs containerd,
BuildKit's solver, runc and the RUN steps) is measured with the daemon's process tree added to its
own in every sample (``also``): the same sum of RSS, over the client and the daemon together.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measurement", "in_sequence", "measure", "tree_rss"]

SAMPLE_SECONDS = 0.01


@dataclass(frozen=True)
class Measurement:
    seconds: float
    peak_rss: int  # bytes
    returncode: int
    stderr: str
    phases: tuple[tuple[str, float], ...] = ()  # (name, seconds) of each command, from in_sequence


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(name))
    return tree


def tree_rss(pid: int, *more: int) -> int:
    """Bytes of resident memory of ``pid`` (and of each of ``more``) and all their descendants right
    now, from one look at /proc; a process is counted once even if two of the trees hold it."""
    return _tree_memory(pid, *more)[0]


def _tree_memory(pid: int, *more: int) -> tuple[int, int]:
    """(the tree's resident bytes now, the largest high-water mark of one process in it)."""
    tree = _children()
    total, high, todo, seen = 0, 0, [pid, *more], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        todo.extend(tree.get(current, ()))
        try:
            with open(f"/proc/{current}/status", "rb") as f:
                status = f.read()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(b"VmRSS:"):
                total += int(line.split()[1]) * 1024
            elif line.startswith(b"VmHWM:"):
                high = max(high, int(line.split()[1]) * 1024)
    return total, high


def measure(args: list[str], *, env: dict[str, str] | None = None, cwd: Path | None = None,
            log: Path | None = None, also: Sequence[int] = ()) -> Measurement:
    """Run ``args`` to completion; stderr is kept (and written to ``log``), stdout discarded. The
    process trees of the pids in ``also`` (a daemon doing the command's work) are sampled with the
    command's, their RSS added to its."""
    started = time.monotonic()
    stderr_file = open(log, "w+") if log else open(os.devnull, "w+")
    with stderr_file:
        proc = subprocess.Popen(args, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=stderr_file)
        peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal peak
            while not done.is_set():
                now, high = _tree_memory(proc.pid, *also)
                peak = max(peak, now, high)
                done.wait(SAMPLE_SECONDS)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        _, status, _ = os.wait4(proc.pid, 0)
        seconds = time.monotonic() - started
        done.set()
        sampler.join()
        proc.returncode = os.waitstatus_to_exitcode(status)
        stderr_file.seek(0)
        stderr = stderr_file.read()
    return Measurement(seconds=seconds, peak_rss=peak,
                       returncode=proc.returncode, stderr=stderr)


def in_sequence(phases: Sequence[tuple[str, Measurement]]) -> Measurement:
    """Commands run one after the other (``docker build`` then ``docker push``) as one measurement:
    their times add up, the peak is the largest, the exit code is the first failure's (else 0); each
    command's own time is kept in ``phases``."""
    failed = [m.returncode for _, m in phases if m.returncode != 0]
    return Measurement(seconds=sum(m.seconds for _, m in phases),
                       peak_rss=max((m.peak_rss for _, m in phases), default=0),
                       returncode=failed[0] if failed else 0,
                       stderr="".join(m.stderr for _, m in phases),
                       phases=tuple((name, m.seconds) for name, m in phases))
