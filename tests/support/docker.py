"""Docker itself (Debian's ``docker.io``: dockerd 20.10 with BuildKit built in) as a reference builder.

``start_dockerd`` runs a private daemon whose data root, exec root, pidfile, socket and cgroups all
live under names of its own, so it neither sees nor touches another docker on the machine, and
leaves no process, mount or cgroup behind when it stops. It does no networking of its own (no
bridge, no iptables rules, no IP forwarding): builds and containers use ``--network host``, and base
images come from the loopback registry (127.0.0.0/8 is an insecure registry to docker by default).

Debian's binaries are named by path: another docker CLI on PATH (a newer one that wants buildx for
``docker build``) would not talk BuildKit to this daemon the same way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

__all__ = ["BUILD_ENV", "DOCKER", "DOCKERD", "BuiltImage", "DockerError", "RunningDocker", "build_args",
           "docker_build", "start_dockerd"]

DOCKERD = Path("/usr/sbin/dockerd")
DOCKER = Path("/usr/bin/docker")
# dockerd runs under tini as a subreaper: containerd-shims daemonize, and their zombies are then reaped
# by tini instead of waiting on a PID 1 that may not reap (a container's init).
TINI = Path("/usr/bin/tini")  # a dependency of docker.io
# containerd-shims put their sockets here whatever the daemon's roots (containerd 1.6)
SHIM_SOCKETS = Path("/run/containerd/s")

STORAGE_DRIVERS = ("overlay2", "vfs")  # overlay2 where the kernel and backing filesystem allow it
START_TIMEOUT = 30.0
STOP_TIMEOUT = 20.0
# A unix socket path holds at most 107 bytes; containerd puts "exec/containerd/containerd.sock.ttrpc"
# under the directory that holds the exec root.
MAX_SOCKET_DIR = 64


class DockerError(RuntimeError):
    """A docker command or the daemon failed; the message carries the command and its output."""

    def __init__(self, message: str, *, returncode: int | None = None, output: str = "") -> None:
        super().__init__(message)
        self.returncode = returncode
        self.output = output


@dataclasses.dataclass(frozen=True)
class RunningDocker:
    socket: Path
    pid: int
    storage_driver: str
    workdir: Path
    cgroup_parent: str

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    def env(self, **extra: str) -> dict[str, str]:
        """The CLI's environment: this daemon, a CLI config of its own, nothing from the caller's
        DOCKER_* variables (a DOCKER_CONTEXT or DOCKER_TLS_VERIFY would point it elsewhere)."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("DOCKER_")}
        env.update(DOCKER_HOST=self.host, DOCKER_CONFIG=str(self.workdir / "cli"), **extra)
        return env

    def run(self, *args: str, check: bool = True, timeout: float = 300,
            env: dict[str, str] | None = None, input: str | None = None) -> subprocess.CompletedProcess[str]:
        """``docker ARGS`` against this daemon; raises DockerError with its output when it fails."""
        command = [str(DOCKER), *args]
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                    env=self.env(**(env or {})), input=input)
        except subprocess.TimeoutExpired as exc:
            raise DockerError(f"`docker {' '.join(args)}` did not finish within {timeout} s",
                              output=_text(exc.stderr)[-3000:])
        if check and result.returncode != 0:
            raise DockerError(f"`docker {' '.join(args)}` exited {result.returncode}:\n"
                              f"{(result.stderr or result.stdout)[-3000:]}",
                              returncode=result.returncode, output=result.stdout + result.stderr)
        return result


@dataclasses.dataclass(frozen=True)
class BuiltImage:
    tag: str
    image_id: str  # sha256:... of the config, as `docker build --iidfile` writes it
    log: str  # BuildKit's plain progress output


# dockerd 20.10 builds with the classic builder without it
BUILD_ENV: Mapping[str, str] = MappingProxyType({"DOCKER_BUILDKIT": "1"})


def build_args(context: Path, tag: str, *args: str, iidfile: Path | None = None) -> list[str]:
    """The arguments of the ``docker build`` that ``docker_build`` runs (BuildKit with ``BUILD_ENV``,
    the host's network, plain progress on stderr), for a caller that runs the command itself:
    ``bench/run.py`` measures it."""
    iid = ["--iidfile", str(iidfile)] if iidfile is not None else []
    return ["build", "--network", "host", "--progress", "plain", *iid, "-t", tag, *args, str(context)]


def docker_build(docker: RunningDocker, context: Path, tag: str, *args: str, push: bool = False,
                 timeout: float = 900) -> BuiltImage:
    """``docker build`` with BuildKit and the host's network, tagged ``tag``; ``args`` go before the
    context (``--build-arg K=V``, ``--target``, ``-f``). With ``push`` the tag is pushed afterwards
    (BuildKit in dockerd 20.10 cannot push from the build itself)."""
    iidfile = docker.workdir / "cli" / f"iid-{time.monotonic_ns()}"
    iidfile.parent.mkdir(parents=True, exist_ok=True)
    result = docker.run(*build_args(context, tag, *args, iidfile=iidfile), timeout=timeout, check=False,
                        env=dict(BUILD_ENV))
    if result.returncode != 0:
        raise DockerError(f"docker build of {context} exited {result.returncode}:\n{result.stderr[-4000:]}",
                          returncode=result.returncode, output=result.stderr)
    image_id = iidfile.read_text().strip()
    iidfile.unlink()
    if push:
        docker.run("push", tag, timeout=timeout)
    return BuiltImage(tag=tag, image_id=image_id, log=result.stderr)


@contextlib.contextmanager
def start_dockerd(workdir: Path, insecure_registries: Sequence[str] = (),
                  storage_drivers: Sequence[str] = STORAGE_DRIVERS) -> Iterator[RunningDocker]:
    """Start dockerd with everything under ``workdir`` (the first of ``storage_drivers`` it accepts);
    on exit remove its containers, stop it, kill what it left running and remove its state."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    for tool in (DOCKERD, DOCKER, TINI):
        if not tool.is_file():
            raise DockerError(f"{tool} is missing: install Debian's docker.io (scripts/setup.sh)")
    failures = []
    for driver in storage_drivers:
        daemon = _Daemon(workdir, driver, insecure_registries)
        try:
            running = daemon.start()
        except DockerError as exc:
            daemon.stop()
            failures.append(f"{driver}: {exc}")
            continue
        try:
            yield running
        finally:
            daemon.stop(running)
        return
    raise DockerError("dockerd did not start with any storage driver:\n" + "\n".join(failures))


class _Daemon:
    """One attempt at running dockerd: its paths, its process, and how to take it all down."""

    def __init__(self, workdir: Path, driver: str, insecure_registries: Sequence[str]) -> None:
        self.workdir, self.driver = workdir, driver
        self.data_root = workdir / "data"
        # Sockets live under the exec root; under a deep workdir, a short directory of its own keeps
        # them within the unix path limit.
        self.short_root: Path | None = None
        if len(str(workdir)) > MAX_SOCKET_DIR:
            self.short_root = Path(tempfile.mkdtemp(prefix="lamina-dockerd-"))
        sockets = self.short_root or workdir
        self.exec_root = sockets / "exec"
        self.socket = sockets / "docker.sock"
        self.pidfile = workdir / "dockerd.pid"
        self.log_path = workdir / "dockerd.log"
        # Containers' cgroups go under a parent of this daemon's own, found and emptied at stop.
        self.cgroup_parent = f"lamina-docker-{os.getpid()}-{id(self):x}"
        self.insecure_registries = list(insecure_registries)
        self.proc: subprocess.Popen[bytes] | None = None  # tini, dockerd's parent
        self.made_shim_sockets = False

    def command(self) -> list[str]:
        config = self.workdir / "daemon.json"  # never /etc/docker/daemon.json
        config.write_text(json.dumps({}))
        command = [str(TINI), "-s", "--", str(DOCKERD), "--config-file", str(config),
                   "--data-root", str(self.data_root), "--exec-root", str(self.exec_root),
                   "--pidfile", str(self.pidfile), "--host", f"unix://{self.socket}",
                   "--storage-driver", self.driver, "--cgroup-parent", f"/{self.cgroup_parent}",
                   "--iptables=false", "--ip6tables=false", "--ip-forward=false", "--ip-masq=false",
                   "--bridge=none", "--userland-proxy=false", "--log-level", "warn"]
        for registry in self.insecure_registries:
            command += ["--insecure-registry", registry]
        return command

    def start(self) -> RunningDocker:
        for path in (self.data_root, self.exec_root):
            shutil.rmtree(path, ignore_errors=True)
        self.made_shim_sockets = not SHIM_SOCKETS.parent.exists()
        (self.workdir / "cli").mkdir(exist_ok=True)
        (self.workdir / "cli" / "config.json").write_text("{}")
        with open(self.log_path, "ab") as log:
            # its own session: a ^C to pytest reaches the test run, which then stops the daemon in order
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
        running = RunningDocker(socket=self.socket, pid=self.proc.pid, storage_driver=self.driver,
                                workdir=self.workdir, cgroup_parent=self.cgroup_parent)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise DockerError(f"dockerd exited {self.proc.returncode}: {self._log_tail()}")
            if self.socket.exists() and running.run("version", check=False, timeout=10).returncode == 0:
                return dataclasses.replace(running, pid=int(self.pidfile.read_text()))
            time.sleep(0.1)
        raise DockerError(f"dockerd did not answer within {START_TIMEOUT:.0f} s: {self._log_tail()}")

    def stop(self, running: RunningDocker | None = None) -> None:
        if self.proc is None:
            if self.short_root is not None:
                shutil.rmtree(self.short_root, ignore_errors=True)
            return
        if running is not None and self.proc.poll() is None:
            with contextlib.suppress(DockerError):
                ids = running.run("ps", "-aq", timeout=30).stdout.split()
                if ids:
                    running.run("rm", "-f", *ids, timeout=60)
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        # containerd (its child), containerd-shims and whatever ran in containers or RUN steps
        for _ in range(3):
            if not self._kill_leftovers():
                break
            time.sleep(0.2)
        self._remove_cgroups()
        if self.made_shim_sockets:  # only if no containerd had made them before, and only if empty
            for directory in (SHIM_SOCKETS, SHIM_SOCKETS.parent):
                with contextlib.suppress(OSError):
                    directory.rmdir()
        _unmount_under(self.workdir)
        _unmount_under(self.exec_root)
        for path in (self.data_root, self.exec_root, self.short_root, self.socket, self.pidfile):
            if path is None:
                continue
            if path.is_dir() and not path.is_symlink():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    def _kill_leftovers(self) -> bool:
        """SIGKILL every process whose command line names this daemon's roots or that sits in its
        cgroups, and remove the sockets of the shims among them; True if there were any."""
        ours = {pid: argv for pid in _pids() if pid != os.getpid()
                if (argv := self._argv_if_ours(pid)) is not None}
        for pid in ours:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for argv in ours.values():
            if socket := _shim_socket(argv):
                socket.unlink(missing_ok=True)
        return bool(ours)

    def _argv_if_ours(self, pid: int) -> list[str] | None:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").rstrip("\0").split("\0")
            cgroups = Path(f"/proc/{pid}/cgroup").read_text()
        except OSError:
            return None
        roots = (str(self.exec_root), str(self.data_root))
        if any(root in arg for arg in argv for root in roots) or any(line.endswith(f"/{self.cgroup_parent}") or f"/{self.cgroup_parent}/" in line
                   for line in cgroups.splitlines()):
            return argv
        return None

    def _remove_cgroups(self) -> None:
        for hierarchy in _cgroup_hierarchies():
            parent = hierarchy / self.cgroup_parent
            if not parent.is_dir():
                continue
            for directory in sorted(parent.rglob("*"), key=lambda p: len(p.parts), reverse=True):
                if directory.is_dir():
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            with contextlib.suppress(OSError):
                parent.rmdir()

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-2000:]
        except OSError:
            return "(no log)"


def _shim_socket(argv: list[str]) -> Path | None:
    """Where a containerd-shim-runc-v2 listens: SHIM_SOCKETS/sha256(ADDRESS/NAMESPACE/ID), as
    containerd 1.6's shim.SocketAddress names it; a killed shim leaves it behind."""
    if not argv or not argv[0].endswith("containerd-shim-runc-v2"):
        return None
    flags = dict(zip(argv[1::2], argv[2::2], strict=False))
    try:
        key = os.path.join(flags["-address"], flags["-namespace"], flags["-id"])
    except KeyError:
        return None
    return SHIM_SOCKETS / hashlib.sha256(key.encode()).hexdigest()


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _cgroup_hierarchies() -> list[Path]:
    """Mount points of the cgroup hierarchies (v1 controllers, the v2 unified tree)."""
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        fields = line.split()
        separator = fields.index("-")
        if fields[separator + 1] in ("cgroup", "cgroup2"):
            points.append(Path(_unescape(fields[4])))
    return points


def _unmount_under(root: Path) -> None:
    """Lazily unmount whatever a killed daemon left mounted under ``root``, deepest first."""
    prefix = str(root).rstrip("/") + "/"
    mounts = [_unescape(line.split()[4]) for line in Path("/proc/self/mountinfo").read_text().splitlines()]
    for mount in sorted((m for m in mounts if m.startswith(prefix) or m == str(root)),
                        key=len, reverse=True):
        subprocess.run(["umount", "-l", mount], capture_output=True)


def _unescape(field: str) -> str:
    # mountinfo escapes space, tab, newline and backslash as octal
    return (field.replace("\\040", " ").replace("\\011", "\t").replace("\\012", "\n")
            .replace("\\134", "\\"))


def _text(data: str | bytes | None) -> str:
    if data is None:
        return ""
    return data.decode(errors="replace") if isinstance(data, bytes) else data
