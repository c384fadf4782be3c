"""The build root: refusing unsafe roots, and the paths that never belong in a layer."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from executor.errors import UsageError
from executor.options import RootOptions
from snapshot.ignore import IgnoreList

log = logging.getLogger("lamina")

# Never walked, snapshotted or extracted into: kernel filesystems and the runtime's own mounts.
ALWAYS_IGNORED = ("proc", "sys", "dev", "etc/hosts", "etc/resolv.conf", "etc/hostname")
# Files a runtime puts in a container that are no mounts: its markers, which inside_container()
# looks for again when the same container builds after --cleanup, and /etc/mtab (in kaniko's
# ignore list too). Kept on / only where the runtime made them, so a RUN may still create one.
RUNTIME_FILES = (".dockerenv", "run/.containerenv", "etc/mtab")


def inside_container(proc: Path = Path("/proc"), root: Path = Path("/")) -> bool:
    """True when this process looks like it runs in a container (as kaniko's check)."""
    if (root / ".dockerenv").exists() or (root / "run/.containerenv").exists():
        return True
    if os.environ.get("container") or os.environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    try:
        cgroup = (proc / "1/cgroup").read_text()
    except OSError:
        cgroup = ""
    return any(word in cgroup for word in ("docker", "kubepods", "containerd", "libpod", "lxc"))


def mount_points(root: Path, mountinfo: Path = Path("/proc/self/mountinfo")) -> list[str]:
    """Root-relative paths of every mount point under ``root`` (secrets, volumes, the context)."""
    result: list[str] = []
    try:
        lines = mountinfo.read_text().splitlines()
    except OSError:
        return result
    for line in lines:
        fields = line.split()
        if len(fields) < 5:
            continue
        point = fields[4].encode().decode("unicode_escape")
        try:
            rel = Path(point).relative_to(root)
        except ValueError:
            continue
        if str(rel) != ".":
            result.append(str(rel))
    return result


def check_root(options: RootOptions) -> None:
    root, kaniko_dir = options.root, options.kaniko_dir
    if not options.sandboxed:
        if not options.force and not inside_container():
            raise UsageError("refusing to build on / outside a container: it would overwrite this "
                             "machine's files; use --root DIR for a sandbox, or --force")
        return
    if root.exists() and not root.is_dir():
        raise UsageError(f"--root {root}: not a directory")
    if root.exists() and any(root.iterdir()):
        raise UsageError(f"--root {root}: the sandbox root must be empty or absent")
    if kaniko_dir == root or root in kaniko_dir.parents:
        raise UsageError(f"--kaniko-dir {kaniko_dir} must lie outside --root {root}")
    if reachable_by_others(root):
        log.warning("--root %s can be reached by other users of this machine, and so could the "
                    "image's setuid programs while it exists: put it under a directory only root "
                    "can enter (mode 0700)", root)


def reachable_by_others(path: Path) -> bool:
    """Whether a user other than root could walk down to ``path``: every existing directory on
    the way lets others search it. (``path`` itself is the RUN's ``/``: it keeps the image's
    mode, so the barrier has to be above it.)"""
    for directory in path.absolute().parents:
        try:
            if not os.stat(directory).st_mode & 0o001:
                return False
        except FileNotFoundError:
            continue
    return True


def ignore_list(options: RootOptions) -> IgnoreList:
    paths = list(ALWAYS_IGNORED)
    if options.ignore_var_run:
        paths.append("var/run")
    try:
        paths.append(str(options.kaniko_dir.relative_to(options.root)))
    except ValueError:
        pass  # sandbox mode: the kaniko dir is outside the root already
    if not options.sandboxed:
        paths.extend(mount_points(options.root))
        paths.extend(name for name in RUNTIME_FILES if os.path.lexists(options.root / name))
        if (options.root / "busybox").is_dir():
            # The debug executor image's shell (as kaniko's): it must survive the base image's
            # extraction and --cleanup, and never land in the image built.
            paths.append("busybox")
    paths.extend(p.strip("/") for p in options.ignore_paths if p.strip("/"))
    return IgnoreList.of(*paths)
