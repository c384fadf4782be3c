"""PID 1 duties, for when the executor is the first process of its container (as kaniko's is).

A container's PID 1 inherits every orphan of the namespace, so each background process a RUN
command leaves behind (``RUN daemon &``, a double-forking installer) becomes its child, and stays a
zombie until PID 1 waits for it. The kernel also drops any signal PID 1 has no handler for, so
without one ``docker stop`` / a Pod's termination would hang until SIGKILL.

Reaping inside the build process itself would race with ``subprocess``: a ``waitpid(-1)`` that
catches the RUN command's own exit steals its status (Popen then reports 0, and a failing RUN
"succeeds"). So PID 1 splits in two, as tini and ``docker --init`` do: this process stays a tiny
init that reaps everything and forwards signals, and the build runs in its only direct child, which
waits for its RUN commands as usual. Orphans re-parent to init, never to the build process.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback
from collections.abc import Callable

__all__ = ["FORWARDED_SIGNALS", "exit_code_of", "is_init", "serve_as_init"]

# What a runtime or a user sends to stop a container, passed on to the build process, which stops
# its running command's process group and exits with 128 + the signal's number.
FORWARDED_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def is_init(pid: int | None = None) -> bool:
    return (os.getpid() if pid is None else pid) == 1


def exit_code_of(status: int) -> int:
    """A wait status as a shell reports it: the exit code, or 128 + the signal that killed it."""
    code = os.waitstatus_to_exitcode(status)
    return 128 - code if code < 0 else code


def serve_as_init(build: Callable[[], int]) -> int:
    """Run ``build`` in a child process; reap every process until it exits; return its exit code.

    Signals are blocked across the fork so that none arriving in between is lost: to PID 1 a signal
    without a handler is simply discarded.
    """
    sys.stdout.flush()
    sys.stderr.flush()
    blocked = set(FORWARDED_SIGNALS)
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    child = os.fork()
    if child == 0:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        _run_build(build)
    return _supervise(child, {signal.Signals(s) for s in previous_mask})


def _run_build(build: Callable[[], int]) -> None:
    """The build process: never returns, so nothing after the fork runs twice."""
    try:
        code = build()
    except SystemExit as exit_request:  # argparse's --help, sys.exit() deep inside
        code = exit_request.code if isinstance(exit_request.code, int) else int(exit_request.code is not None)
    except BaseException:  # an unexpected crash must still end this process, with a trace
        traceback.print_exc()
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    finally:
        os._exit(code)


def _supervise(child: int, previous_mask: set[signal.Signals]) -> int:
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in FORWARDED_SIGNALS:
        signal.signal(signum, forward)
    signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
    while True:
        try:
            pid, status = os.waitpid(-1, 0)  # any child: the build, or an orphan handed to PID 1
        except ChildProcessError:
            return 1  # cannot happen while the build process lives; be safe anyway
        if pid == child:
            # Whatever still runs is killed by the kernel when PID 1 exits, as in any container.
            return exit_code_of(status)
