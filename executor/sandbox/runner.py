"""How a RUN command executes: on ``/`` beside the executor (confined by Landlock; its mounts
mounted privately or, where the container allows no mount namespace, placed: placement.py), or
inside a sandbox root of its own (namespaces, pivot_root; see launcher.py)."""

from __future__ import annotations

import marshal
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from executor.errors import BuildError
from executor.sandbox.bundle import BundleSeal
from executor.sandbox.network import SandboxNetwork
from executor.sandbox.placement import Placement, held_lock, placed
from executor.sandbox.processes import run_forwarding_signals

LAUNCHER = Path(__file__).with_name("launcher.py")

# Files a RUN command needs from the host but that never belong in a layer.
HOST_FILES = ("etc/resolv.conf", "etc/hosts")
CAP_SYS_ADMIN = 21  # what mount(2) and unshare(CLONE_NEWNS) need


@dataclass(frozen=True)
class BindMount:
    """A host file or directory shown at ``target`` for the command only (RUN --mount=type=bind,
    type=cache)."""

    source: Path
    target: str  # absolute path inside the build root, symlinks already resolved
    readonly: bool = True
    # The source is this command's alone (a writable cache, a private copy): placed rather than
    # mounted, it is moved into place and back instead of copied.
    movable: bool = False
    # A cache other commands may use at the same time (sharing=shared): placed, it can be in one
    # place only, so the runner holds this lock meanwhile (as for sharing=locked).
    lock: Path | None = None

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "bind", "source": str(self.source), "target": self.target, "readonly": self.readonly}

    def place(self, placement: Placement) -> None:
        placement.tree(self.source, self.target, move=self.movable)


@dataclass(frozen=True)
class InlineFile:
    """A read-only file made from bytes held in memory (a secret, a heredoc script). The launcher
    writes it to a tmpfs private to the command, so its bytes never touch a disk or the root; only
    where no mount can be made is it a file in the root for the command's time (placement.py)."""

    target: str
    content: bytes = field(repr=False)
    mode: int = 0o400
    uid: int = 0
    gid: int = 0

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "file", "target": self.target, "content": self.content,
                "mode": self.mode, "uid": self.uid, "gid": self.gid}

    def place(self, placement: Placement) -> None:
        placement.file(self.target, self.content, mode=self.mode, uid=self.uid, gid=self.gid)


@dataclass(frozen=True)
class TmpfsMount:
    target: str
    size: int | None = None  # bytes; None: the kernel's default (half of RAM)

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "tmpfs", "target": self.target, "size": self.size}

    def place(self, placement: Placement) -> None:
        placement.empty_directory(self.target)


@dataclass(frozen=True)
class SocketMount:
    """An ssh-agent socket of the executor's (ssh_forward.py) at ``target`` (RUN --mount=type=ssh):
    ``source``, one it listens on outside the root, is bind-mounted there; where nothing can be
    mounted, ``listen`` binds one more at the target itself, removed after the command."""

    target: str
    source: Path
    listen: Callable[[str], None] = field(repr=False, compare=False)

    def launch_spec(self) -> dict[str, object]:
        return {"kind": "bind", "source": str(self.source), "target": self.target, "readonly": False}

    def place(self, placement: Placement) -> None:
        placement.socket(self.target, self.listen)


Mount = BindMount | InlineFile | TmpfsMount | SocketMount


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
    @property
    def failure_hint(self) -> str:
        """Said after a failed command's exit code: what the runner denied that it may have needed."""
        ...

    def close(self) -> None:
        """The build is over: release what the runner kept for all its commands."""

    def run(self, spec: ProcessSpec) -> int:
        """Run the command to completion and return its exit code (negative: killed by signal)."""
        ...


def _start_launcher(launch: dict[str, object], *, process_group: bool = False) -> int:
    return run_forwarding_signals([sys.executable, "-I", "-S", str(LAUNCHER)],
                                  marshal.dumps(launch), close_fds=True,
                                  process_group=process_group, env={"PATH": os.defpath})


def _launch_spec(spec: ProcessSpec, root: Path, staging: Path, files: dict[str, str],
                 network: str) -> dict[str, object]:
    return {
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


@dataclass(frozen=True)
class Confinement:
    """What a RUN beside the executor may not reach: everything under ``protected`` (the kaniko
    dir) but ``allowed_inside``; see landlock.py."""

    protected: Path
    allowed_inside: tuple[Path, ...] = ()
    tcp: bool = True  # the kernel's Landlock can deny TCP (ABI 4+): RUN --network=none works

    def launch_spec(self, network: str | None) -> dict[str, object]:
        return {"protected": str(self.protected), "allowed": [str(p) for p in self.allowed_inside],
                "deny_tcp": network == "none"}


@dataclass
class HostRunner:
    """Container mode: the root is ``/``, the command runs beside the executor as in kaniko, but
    through the launcher, which confines it (``confinement``; None where the kernel has no
    Landlock). For RUN --mount it gets a mount namespace of its own where the container allows
    one (``mount_namespaces``; None: tried with the first such command); else, as under Docker's
    default capabilities, the mounts are placed in ``/`` for the command's time (placement.py).
    ``scratch`` lies directly in the kaniko dir, which is never snapshotted and never a mount's
    target; ``bundle`` is checked after every command."""

    scratch: Path = Path("/kaniko/sandbox")
    confinement: Confinement | None = None
    bundle: BundleSeal | None = None
    mount_namespaces: bool | None = None

    def close(self) -> None:
        pass

    @property
    def failure_hint(self) -> str:
        if self.confinement is None:
            return ""
        return (f"RUN steps on / are confined: they cannot create entries directly in / nor reach "
                f"{self.confinement.protected}; if the command needed that, make a new top-level "
                "directory with WORKDIR or COPY, or build with --confine-run=false")

    def run(self, spec: ProcessSpec) -> int:
        try:
            return self._run(spec)
        finally:
            if self.bundle is not None:
                self.bundle.verify()

    def _run(self, spec: ProcessSpec) -> int:
        if spec.network == "none" and (self.confinement is None or not self.confinement.tcp):
            raise BuildError("RUN --network=none needs Landlock ABI 4 (Linux 6.7) on / to keep the "
                             "command off the network; this kernel cannot, and the build stops here")
        staging = self.scratch / "staging"
        staging.mkdir(mode=0o700, parents=True, exist_ok=True)
        if spec.mounts and not self._can_mount():
            return self._run_placed(spec, staging)
        launch = _launch_spec(spec, Path("/"), staging, {}, "host")
        launch["namespaces"] = bool(spec.mounts)  # private mounts; nothing else needs one
        # As a docker build RUN's container: what the command leaves running ends with it, so no
        # process of one step lives on to read what a later step's mounts place in / (a secret)
        launch["reap"] = not spec.mounts
        if self.confinement is not None:
            launch["confine"] = self.confinement.launch_spec(spec.network)
        return _start_launcher(launch, process_group=not spec.mounts)

    def _can_mount(self) -> bool:
        if self.mount_namespaces is None:
            self.mount_namespaces = _mount_namespaces_allowed(self.scratch / "staging")
        return self.mount_namespaces

    def _run_placed(self, spec: ProcessSpec, staging: Path) -> int:
        launch = _launch_spec(replace(spec, mounts=()), Path("/"), staging, {}, "host")
        launch["namespaces"] = False
        launch["reap"] = True  # what the command leaves running dies before the root is restored
        if self.confinement is not None:
            launch["confine"] = self.confinement.launch_spec(spec.network)
        with ExitStack() as locks:
            for mount in spec.mounts:
                if isinstance(mount, BindMount) and mount.lock is not None:
                    locks.enter_context(held_lock(mount.lock))
            with placed(spec.mounts, root=Path("/"), aside=self.scratch / "aside", protected=self.scratch.parent):
                return _start_launcher(launch, process_group=True)


def _mount_namespaces_allowed(staging: Path) -> bool:
    """Whether a command on ``/`` can have mounts of its own here: CAP_SYS_ADMIN, and no seccomp or
    AppArmor profile refusing unshare or mount (Docker's default ones refuse them even with the
    capability added), so the launcher is tried once, mounting a tmpfs on ``staging``."""
    if not _has_capability(CAP_SYS_ADMIN):
        return False
    trial = {"root": "/", "argv": [sys.executable, "-I", "-S", "-c", ""], "env": {}, "network": "host",
             "mounts": [TmpfsMount(target=str(staging), size=4096).launch_spec()]}
    return run_forwarding_signals([sys.executable, "-I", "-S", str(LAUNCHER)], marshal.dumps(trial),
                                  close_fds=True, env={"PATH": os.defpath},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0


def _has_capability(number: int) -> bool:
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("CapEff:"):
                    return bool(int(line.split()[1], 16) >> number & 1)
    except (OSError, ValueError):
        pass
    return False


@dataclass
class ChrootRunner:
    """Sandbox mode: the command gets ``root`` as its own ``/`` (pivot_root) in private mount,
    PID and network namespaces (see launcher.py).

    ``scratch`` is a directory outside the root where private copies of the host's resolv.conf and
    hosts are kept, so a command writing to them changes neither the host nor the image.
    """

    root: Path
    scratch: Path
    network: str = "sandbox"  # the build's --network: sandbox (default), host or none
    failure_hint: str = ""
    _shared_network: SandboxNetwork = field(default_factory=lambda: SandboxNetwork(LAUNCHER), repr=False)

    def close(self) -> None:
        """At the end of the build: the build's network goes."""
        self._shared_network.close()

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
        launch = _launch_spec(spec, self.root, staging, files, network or "sandbox")
        if launch["network"] == "sandbox":
            launch["netns"] = self._shared_network.namespace
        return _start_launcher(launch)
