"""The network of a RUN in sandbox mode: a namespace of its own, joined to the outside by
slirp4netns (user-mode NAT from the host's namespace, the host's loopback unreachable), as
rootless podman and BuildKit do."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable
from types import TracebackType

__all__ = ["SlirpNetwork"]


class SlirpNetwork:
    """The launcher says (pipe ``ready``) when its network namespace exists; slirp4netns is then
    attached to it and the launcher told (pipe ``go``) to go on. ``sync`` are the two descriptors
    the launcher gets; ``attach`` runs once it started, and returns what stops slirp4netns."""

    def __init__(self) -> None:
        self._ready_read, self._ready_write = os.pipe()
        self._go_read, self._go_write = os.pipe()
        self._open = {self._ready_read, self._ready_write, self._go_read, self._go_write}

    @property
    def sync(self) -> tuple[int, int]:
        return self._ready_write, self._go_read

    def _close(self, fd: int) -> None:
        if fd in self._open:  # each exactly once: a number closed may be reused at once
            self._open.discard(fd)
            os.close(fd)

    def attach(self, process: subprocess.Popen[bytes]) -> Callable[[], None]:
        self._close(self._ready_write)
        self._close(self._go_read)
        ready = os.read(self._ready_read, 1)
        slirp = _start_slirp(process.pid) if ready == b"u" else None
        if ready == b"u":  # else the launcher failed before its namespace existed
            os.write(self._go_write, b"g" if slirp is not None else b"x")
        self._close(self._ready_read)
        self._close(self._go_write)
        return lambda: _stop(slirp)

    def __enter__(self) -> SlirpNetwork:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        for fd in list(self._open):
            self._close(fd)


def _start_slirp(pid: int) -> subprocess.Popen[bytes] | None:
    """slirp4netns attached to the network namespace of ``pid`` (tap0, 10.0.2.100, DNS at
    10.0.2.3), the host's loopback disabled; None when it cannot start (the RUN then fails with
    the launcher's message)."""
    ready_read, ready_write = os.pipe()
    try:
        slirp = subprocess.Popen(
            ["slirp4netns", "--configure", "--mtu=65520", "--disable-host-loopback",
             f"--ready-fd={ready_write}", str(pid), "tap0"],
            pass_fds=(ready_write,), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, close_fds=True)
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
