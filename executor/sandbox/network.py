"""The network of RUN commands in sandbox mode: one namespace for the build, held by a small
process of the launcher's and joined to the outside by slirp4netns (user-mode NAT from the host's
namespace, the host's loopback unreachable), as rootless podman and BuildKit do. Each RUN joins
it, so slirp4netns starts once a build, not once a RUN."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

__all__ = ["SandboxNetwork"]


class SandboxNetwork:
    """Started on first use (``namespace``), stopped by ``close`` at the end of the build."""

    def __init__(self, launcher: Path) -> None:
        self._launcher = launcher
        self._holder: subprocess.Popen[bytes] | None = None
        self._slirp: subprocess.Popen[bytes] | None = None

    @property
    def namespace(self) -> str:
        """The path of the network namespace to join (``setns``)."""
        if self._holder is None:
            self._start()
        assert self._holder is not None
        return f"/proc/{self._holder.pid}/ns/net"

    def _start(self) -> None:
        ready_read, ready_write = os.pipe()
        try:
            self._holder = subprocess.Popen(
                [sys.executable, "-I", "-S", str(self._launcher), "--hold-network", str(ready_write)],
                pass_fds=(ready_write,), stdin=subprocess.PIPE, close_fds=True,
                env={"PATH": os.defpath})
        finally:
            os.close(ready_write)
        with os.fdopen(ready_read, "rb") as ready:
            made = ready.read(1) == b"u"
        self._slirp = _start_slirp(self._holder.pid) if made else None
        if self._slirp is None:
            self.close()
            raise OSError(0, "the build's network could not be made (is slirp4netns installed?); "
                             "--network host or none builds without it")

    def close(self) -> None:
        _stop(self._slirp)
        self._slirp = None
        if self._holder is not None:
            if self._holder.stdin is not None:
                self._holder.stdin.close()
            self._holder.terminate()
            try:
                self._holder.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._holder.kill()
                self._holder.wait()
            self._holder = None


def _start_slirp(pid: int) -> subprocess.Popen[bytes] | None:
    """slirp4netns attached to the network namespace of ``pid`` (tap0, 10.0.2.100, DNS at
    10.0.2.3), the host's loopback disabled; None when it cannot start."""
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
