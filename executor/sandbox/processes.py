"""Supervising a command's process: SIGTERM, SIGINT and SIGHUP passed on while it runs; a whole
process group ended when the build is interrupted, so nothing a RUN left in the background holds
the build or the container's shutdown up."""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
from types import FrameType

from executor.errors import BuildInterrupted

__all__ = ["INTERRUPT_GRACE", "make_undumpable", "run_forwarding_signals"]

PR_SET_DUMPABLE = 4

# Seconds an interrupted command's process group gets to exit after the forwarded signal.
INTERRUPT_GRACE = 5.0


def make_undumpable() -> None:
    """Mark the executor's process not dumpable: its memory, ``/proc/PID/environ`` and ``mem`` are
    then open only to holders of CAP_SYS_PTRACE, which no RUN has (Docker's default set, and the
    sandbox's bounding set, lack it), on top of Landlock's own ptrace scoping. The commands it
    starts are dumpable again after their execve."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def run_forwarding_signals(args: list[str], stdin_payload: bytes | None = None, *,
                            process_group: bool = False, **popen: object) -> int:
    """Start ``args``, pass SIGTERM/SIGINT/SIGHUP on to it while it runs, return its exit code.

    ``stdin_payload`` is written to a pipe whose descriptor number is appended to ``args``.
    ``process_group``: start it in a session of its own and signal that whole group, so children it
    put in the background get the signal too; once interrupted, whatever still runs in the group
    after ``INTERRUPT_GRACE`` seconds is killed, so a command ignoring SIGTERM cannot hold the
    build (and the container's shutdown) up.
    """
    if process_group:
        popen["start_new_session"] = True
    process = _start(args, stdin_payload, popen)

    received: list[int] = []

    def send(signum: int) -> None:
        try:
            if process_group:
                os.killpg(process.pid, signum)
            else:
                process.send_signal(signum)
        except ProcessLookupError:
            pass

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        send(signum)
        if process_group and len(received) == 1:
            raise _Forwarded  # out of the blocking wait, into the one with a deadline

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        if process_group:
            code = _wait_or_kill_group(process)
        else:
            code = process.wait()
    except _Forwarded:  # the signal came just after the wait had returned
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        if process_group:
            send(signal.SIGKILL)  # background children left in the group die with the build
        raise BuildInterrupted(received[0])
    return code


def _start(args: list[str], stdin_payload: bytes | None, popen: dict[str, object]
           ) -> subprocess.Popen[bytes]:
    if stdin_payload is None:
        return subprocess.Popen(args, **popen)  # type: ignore[call-overload]
    read_end, write_end = os.pipe()
    try:
        fds = (read_end, *popen.pop("pass_fds", ()))  # type: ignore[misc]
        process = subprocess.Popen([*args, str(read_end)], pass_fds=fds, **popen)  # type: ignore[call-overload]
    finally:
        os.close(read_end)
    with os.fdopen(write_end, "wb") as pipe:
        pipe.write(stdin_payload)
    return process


class _Forwarded(Exception):
    """Raised by the signal handler to end a blocking wait once a signal was forwarded."""


def _wait_or_kill_group(process: subprocess.Popen[bytes]) -> int:
    """Wait for ``process``; once a signal was forwarded, SIGKILL its group after the grace time."""
    try:
        return process.wait()
    except _Forwarded:
        pass
    try:
        return process.wait(timeout=INTERRUPT_GRACE)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        return process.wait()
