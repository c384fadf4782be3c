"""How a RUN command executes: on ``/`` as a plain process, or chrooted into a sandbox root."""

from __future__ import annotations

import marshal
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Protocol

from executor.errors import BuildInterrupted

LAUNCHER = Path(__file__).with_name("launcher.py")

# Seconds an interrupted command's process group gets to exit after the forwarded signal.
INTERRUPT_GRACE = 5.0

# Files a RUN command needs from the host but that never belong in a layer.
HOST_FILES = ("etc/resolv.conf", "etc/hosts")


@dataclass(frozen=True)
class BindMount:
    """A host file or directory shown at ``target`` for the command only (RUN --mount=type=bind,
    type=cache)."""

    source: Path
    target: str  # absolute path inside the build root, symlinks already resolved
    readonly: bool = True

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "bind", "source": str(self.source), "target": self.target, "readonly": self.readonly}


@dataclass(frozen=True)
class InlineFile:
    """A read-only file made from bytes held in memory (a secret, a heredoc script). The launcher
    writes it to a tmpfs private to the command, so its bytes never touch a disk or the root."""

    target: str
    content: bytes = field(repr=False)
    mode: int = 0o400
    uid: int = 0
    gid: int = 0

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "file", "target": self.target, "content": self.content,
                "mode": self.mode, "uid": self.uid, "gid": self.gid}


@dataclass(frozen=True)
class TmpfsMount:
    target: str
    size: int | None = None  # bytes; None: the kernel's default (half of RAM)

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "tmpfs", "target": self.target, "size": self.size}


Mount = BindMount | InlineFile | TmpfsMount


@dataclass(frozen=True)
class ProcessSpec:
    argv: tuple[str, ...]
    env: dict[str, str] = field(repr=False)  # may hold secrets (RUN --mount=type=secret,env=)
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    groups: tuple[int, ...] = ()
    mounts: tuple[Mount, ...] = field(default=())  # made in this order, gone when the command ends
    network: str | None = None  # RUN --network: default (None: the runner's), host or none


class CommandRunner(Protocol):
    def run(self, spec: ProcessSpec) -> int:
        """Run the command to completion and return its exit code (negative: killed by signal)."""
        ...


def _run_forwarding_signals(args: list[str], stdin_payload: bytes | None = None, *,
                            process_group: bool = False,
                            attach: Callable[[subprocess.Popen[bytes]], Callable[[], None]] | None = None,
                            **popen: object) -> int:
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
    # ``attach`` sets up what the started process waits for (its network); its result undoes it
    detach = attach(process) if attach is not None else None

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
        if detach is not None:
            detach()
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


def _launch(spec: ProcessSpec, root: Path, staging: Path, files: dict[str, str],
            network: str = "host") -> int:
    """Run ``spec`` through launcher.py in private mount and PID namespaces rooted at ``root``;
    ``network``: ``host`` (the host's), ``none`` (only loopback) or ``sandbox`` (its own, out
    through slirp4netns)."""
    if network == "sandbox":
        return _launch_with_slirp(spec, root, staging, files)
    return _start_launcher(_launch_spec(spec, root, staging, files, network), ())


def _launch_with_slirp(spec: ProcessSpec, root: Path, staging: Path, files: dict[str, str]) -> int:
    """The launcher says (pipe ``ready``) when its network namespace exists; slirp4netns is
    attached to it, and the launcher told (pipe ``go``) to go on."""
    ready_read, ready_write = os.pipe()
    go_read, go_write = os.pipe()
    open_fds = {ready_read, ready_write, go_read, go_write}

    def close(fd: int) -> None:
        if fd in open_fds:  # each exactly once: a number closed may be reused at once
            open_fds.discard(fd)
            os.close(fd)

    def attach(process: subprocess.Popen[bytes]) -> Callable[[], None]:
        close(ready_write)
        close(go_read)
        ready = os.read(ready_read, 1)
        slirp = _start_slirp(process.pid) if ready == b"u" else None
        if ready == b"u":  # else the launcher failed before its namespace existed
            os.write(go_write, b"g" if slirp is not None else b"x")
        close(ready_read)
        close(go_write)
        return lambda: _stop(slirp)

    launch = _launch_spec(spec, root, staging, files, "sandbox")
    launch["sync"] = (ready_write, go_read)
    try:
        return _start_launcher(launch, (ready_write, go_read), attach)
    finally:
        for fd in list(open_fds):
            close(fd)


def _start_slirp(pid: int) -> subprocess.Popen[bytes] | None:
    """slirp4netns attached to the network namespace of ``pid`` (tap0, 10.0.2.100, DNS at
    10.0.2.3), the host's loopback disabled, as rootless podman and BuildKit use it; None when
    it cannot start (the RUN then fails with the launcher's message)."""
    ready_read, ready_write = os.pipe()
    try:
        slirp = subprocess.Popen(
            ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
             f"--ready-fd={ready_write}", str(pid), "tap0"],
            pass_fds=(ready_write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE, close_fds=True)
    except OSError:
        os.close(ready_read)
        os.close(ready_write)
        return None
    os.close(ready_write)
    with os.fdopen(ready_read, "rb") as ready:
        if ready.read(1) == b"1":
            return slirp
    _stop(slirp)
    return None


def _stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _start_launcher(launch: dict[str, object], fds: tuple[int, ...],
                    attach: Callable[[subprocess.Popen[bytes]], Callable[[], None]] | None = None) -> int:
    return _run_forwarding_signals([sys.executable, "-I", "-S", str(LAUNCHER)],
                                   marshal.dumps(launch), close_fds=True, pass_fds=fds,
                                   attach=attach, env={"PATH": os.defpath})


def _launch_spec(spec: ProcessSpec, root: Path, staging: Path, files: dict[str, str],
                 network: str) -> dict[str, object]:
    launch = {
        "root": str(root),
        "argv": list(spec.argv),
        "env": spec.env,
        "cwd": spec.cwd,
        "uid": spec.uid,
        "gid": spec.gid,
        "groups": list(spec.groups),
        "files": files,
        "staging": str(staging),
        "mounts": [mount.launch_spec() for mount in spec.mounts],
        "network": network,
    }
    return launch


@dataclass(frozen=True)
class HostRunner:
    """The root is ``/`` (inside the executor's own container): run the command directly, or, when
    it has RUN --mount mounts, through the launcher without chroot so they stay private to it.
    ``scratch`` lies in the kaniko dir, which is never snapshotted."""

    scratch: Path = Path("/kaniko/sandbox")

    def run(self, spec: ProcessSpec) -> int:
        if spec.mounts:
            staging = self.scratch / "staging"
            staging.mkdir(mode=0o700, parents=True, exist_ok=True)
            return _launch(spec, Path("/"), staging, {})
        return _run_forwarding_signals(
            list(spec.argv), env=spec.env, cwd=spec.cwd, user=spec.uid, group=spec.gid,
            extra_groups=list(spec.groups), close_fds=True, process_group=True)


@dataclass(frozen=True)
class ChrootRunner:
    """Sandbox mode: chroot into ``root`` in private mount and PID namespaces (see launcher.py).

    ``scratch`` is a directory outside the root where private copies of the host's resolv.conf and
    hosts are kept, so a command writing to them changes neither the host nor the image.
    """

    root: Path
    scratch: Path
    network: str = "sandbox"  # the build's --network: sandbox (default), host or none

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
        files = self._host_file_copies()
        # An empty directory outside the root where the launcher mounts the tmpfs holding inline
        # files; the mount lives in the command's namespace, so the directory stays empty here.
        staging = self.scratch / "staging"
        staging.mkdir(mode=0o700, exist_ok=True)
        network = {None: self.network, "default": self.network}.get(spec.network, spec.network)
        return _launch(spec, self.root, staging, files, network or "sandbox")
