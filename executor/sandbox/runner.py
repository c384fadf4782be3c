"""How a RUN command executes: on ``/`` as a plain process, or chrooted into a sandbox root."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from executor.errors import BuildInterrupted

LAUNCHER = Path(__file__).with_name("launcher.py")

# Files a RUN command needs from the host but that never belong in a layer.
HOST_FILES = ("etc/resolv.conf", "etc/hosts")


@dataclass(frozen=True)
class BindMount:
    source: Path
    target: str  # absolute path inside the build root
    readonly: bool = True


@dataclass(frozen=True)
class ProcessSpec:
    argv: tuple[str, ...]
    env: dict[str, str]
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()
    binds: tuple[BindMount, ...] = field(default=())


class CommandRunner(Protocol):
    def run(self, spec: ProcessSpec) -> int:
        """Run the command to completion and return its exit code (negative: killed by signal)."""
        ...


def _run_forwarding_signals(args: list[str], stdin_payload: bytes | None = None, **popen: object) -> int:
    """Start ``args``, pass SIGTERM/SIGINT/SIGHUP on to it while it runs, return its exit code.

    ``stdin_payload`` is written to a pipe whose descriptor number is appended to ``args``.
    """
    if stdin_payload is None:
        process = subprocess.Popen(args, **popen)  # type: ignore[call-overload]
    else:
        read_end, write_end = os.pipe()
        try:
            process = subprocess.Popen([*args, str(read_end)], pass_fds=(read_end,), **popen)  # type: ignore[call-overload]
        finally:
            os.close(read_end)
        with os.fdopen(write_end, "wb") as pipe:
            pipe.write(stdin_payload)

    received: list[int] = []

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        try:
            process.send_signal(signum)
        except ProcessLookupError:
            pass

    previous = {sig: signal.signal(sig, forward) for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        code = process.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if received:
        raise BuildInterrupted(received[0])
    return code


@dataclass(frozen=True)
class HostRunner:
    """The root is ``/`` (inside the executor's own container): run the command directly."""

    def run(self, spec: ProcessSpec) -> int:
        return _run_forwarding_signals(
            list(spec.argv), env=spec.env, cwd=spec.cwd, user=spec.uid, group=spec.gid,
            extra_groups=list(spec.groups), close_fds=True)


@dataclass(frozen=True)
class ChrootRunner:
    """Sandbox mode: chroot into ``root`` in private mount and PID namespaces (see launcher.py).

    ``scratch`` is a directory outside the root where private copies of the host's resolv.conf and
    hosts are kept, so a command writing to them changes neither the host nor the image.
    """

    root: Path
    scratch: Path

    def _host_file_copies(self) -> dict[str, str]:
        copies = {}
        self.scratch.mkdir(parents=True, exist_ok=True)
        for name in HOST_FILES:
            source = Path("/") / name
            copy = self.scratch / name.replace("/", "_")
            if source.exists():
                shutil.copyfile(source, copy)
            else:
                copy.write_text("127.0.0.1 localhost\n" if name.endswith("hosts") else "")
            copies[name] = str(copy)
        return copies

    def run(self, spec: ProcessSpec) -> int:
        launch = {
            "root": str(self.root),
            "argv": list(spec.argv),
            "env": spec.env,
            "cwd": spec.cwd,
            "uid": spec.uid,
            "gid": spec.gid,
            "groups": list(spec.groups),
            "files": self._host_file_copies(),
            "binds": [{"source": str(b.source), "target": b.target, "readonly": b.readonly}
                      for b in spec.binds],
        }
        return _run_forwarding_signals([sys.executable, "-I", "-S", str(LAUNCHER)],
                                       json.dumps(launch).encode(), close_fds=True,
                                       env={"PATH": os.defpath})
