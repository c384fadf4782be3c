"""Runs one RUN command chrooted into a sandbox root, in private mount and PID namespaces.

Started as ``python -I -S launcher.py FD`` (the JSON spec is read from pipe FD, keeping the
environment out of the process list) by ``executor.sandbox.runner``; it imports only the
standard library so it starts fast and works whatever is installed in the build root. Every mount it
makes lives in its own mount namespace, so the kernel removes them all when the command's last
process exits, even when the executor is killed: no mount is ever left behind on the host.
"""

from __future__ import annotations

import ctypes
import marshal
import os
import signal
import sys

CLONE_NEWNS = 0x00020000
CLONE_NEWPID = 0x20000000
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18

DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty")

# The interpreter's own symbols include libc's; ctypes.util.find_library would run ldconfig, and
# json would import re: this process starts for every RUN, so it imports little
# (the spec comes as marshal data from the same interpreter).
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _place_file(target: str, content: bytes) -> None:
    """Write a host file's copy (resolv.conf, hosts) at ``target``, called after chroot so that
    symlinks in the path resolve inside the root.

    A copy, not a bind mount: a RUN may then replace or delete it, or all of /etc, without the
    EBUSY a mount point gives; the build keeps these paths out of every layer.
    """
    directory = os.path.dirname(target)
    if not os.path.isdir(directory):
        return  # no /etc (FROM scratch): nothing to place it in
    before = os.stat(directory)
    if os.path.islink(target) or os.path.isfile(target):
        os.unlink(target)
    elif os.path.lexists(target):
        return
    with open(target, "wb") as dst:
        dst.write(content)
    os.chmod(target, 0o644)
    # Put /etc's mtime back, so the directory does not show up changed in every RUN's layer.
    os.utime(directory, ns=(before.st_atime_ns, before.st_mtime_ns))


def _real_directory(path: str) -> str:
    """``path`` as a real directory: a symlink planted there by a RUN is removed, never followed."""
    if os.path.islink(path) or (os.path.lexists(path) and not os.path.isdir(path)):
        os.unlink(path)
    os.makedirs(path, exist_ok=True)
    return path


def _setup_dev(root: str) -> None:
    dev = _real_directory(os.path.join(root, "dev"))
    _mount("tmpfs", dev, "tmpfs", MS_NOSUID, "mode=755,size=65536k")
    for name in DEVICE_NODES:
        target = os.path.join(dev, name)
        open(target, "w").close()
        _mount(f"/dev/{name}", target, None, MS_BIND)
    for sub, mode in (("pts", 0o755), ("shm", 0o1777), ("mqueue", 0o755)):
        os.mkdir(os.path.join(dev, sub))
        os.chmod(os.path.join(dev, sub), mode)
    _mount("shm", os.path.join(dev, "shm"), "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k")
    try:
        _mount("devpts", os.path.join(dev, "pts"), "devpts", MS_NOSUID | MS_NOEXEC,
               "newinstance,ptmxmode=0666,mode=0620")
        os.symlink("pts/ptmx", os.path.join(dev, "ptmx"))
    except OSError:
        pass  # a terminal inside RUN is optional; builds never need one
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):
        os.symlink(target, os.path.join(dev, name))


def _mount_point(root: str, target: str, is_dir: bool) -> str:
    """The host path of ``target`` (resolved inside the root by the caller), created if missing.

    The executor creates mount points in the root beforehand and removes them afterwards, so that
    they never reach a layer; creating one here only happens inside this namespace's own /dev tmpfs.
    """
    path = os.path.join(root, target.lstrip("/"))
    if is_dir:
        os.makedirs(path, exist_ok=True)
    else:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.lexists(path):
            open(path, "a").close()
    return path


def _setup_requested_mounts(spec: dict) -> None:
    """RUN --mount: binds, inline files (secrets, heredoc scripts) on a private tmpfs, tmpfs."""
    root = spec["root"]
    mounts = spec.get("mounts", [])
    staging = str(spec.get("staging") or "")
    if staging and any(m["kind"] == "file" for m in mounts):
        _mount("tmpfs", staging, "tmpfs", MS_NOSUID | MS_NODEV, "mode=700,size=16m")
    for number, mount in enumerate(mounts):
        kind = mount["kind"]
        if kind == "bind":
            target = _mount_point(root, str(mount["target"]), os.path.isdir(mount["source"]))
            _mount(mount["source"], target, None, MS_BIND | MS_REC)
            if mount.get("readonly"):
                _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
        elif kind == "file":
            source = os.path.join(staging, str(number))
            descriptor = os.open(source, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as out:
                out.write(mount["content"])
            os.chown(source, mount.get("uid", 0), mount.get("gid", 0))
            os.chmod(source, mount.get("mode", 0o400))
            target = _mount_point(root, mount["target"], False)
            _mount(source, target, None, MS_BIND)
            _mount(None, target, None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV)
        elif kind == "tmpfs":
            target = _mount_point(root, mount["target"], True)
            size = mount.get("size")
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, f"size={size}" if size else None)


def _setup_mounts(spec: dict) -> None:
    root = spec["root"]
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    if root == "/":
        # Host mode (the executor's own container): no chroot, so /proc, /dev and /sys are the
        # container's already; only the RUN's own mounts are made, privately.
        _setup_requested_mounts(spec)
        return
    proc = _real_directory(os.path.join(root, "proc"))
    _mount("proc", proc, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # The host's kernel settings stay out of reach, as in a container.
    proc_sys = os.path.join(proc, "sys")
    _mount(proc_sys, proc_sys, None, MS_BIND | MS_REC)
    _mount(None, proc_sys, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    sys_dir = _real_directory(os.path.join(root, "sys"))
    _mount("/sys", sys_dir, None, MS_BIND | MS_REC)
    _mount(None, sys_dir, None, MS_BIND | MS_REMOUNT | MS_RDONLY)
    _setup_dev(root)
    _setup_requested_mounts(spec)


def _enter(spec: dict) -> None:
    copies = {}
    for name, source in spec.get("files", {}).items():
        with open(source, "rb") as f:
            copies[name] = f.read()
    if spec["root"] != "/":
        os.chroot(spec["root"])
        for name, content in copies.items():
            _place_file("/" + name, content)
    os.chdir(spec.get("cwd") or "/")
    os.setgroups(spec.get("groups", []))
    os.setgid(spec.get("gid", 0))
    os.setuid(spec.get("uid", 0))


def _exec(spec: dict) -> None:
    argv = spec["argv"]
    try:
        os.execvpe(argv[0], argv, spec["env"])
    except OSError as error:
        print(f"lamina: exec {argv[0]}: {error.strerror}", file=sys.stderr)
        os._exit(127 if isinstance(error, FileNotFoundError) else 126)


def _wait_as_init(child: int) -> int:
    """Reap every process of the namespace until the command itself exits; return its status."""
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        if pid == child:
            return os.waitstatus_to_exitcode(status)


def _forward_signals(child: int) -> None:
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)


def _exit_with(code: int) -> None:
    os._exit(128 - code if code < 0 else code)


def main() -> None:
    with os.fdopen(int(sys.argv[1]), "rb") as spec_pipe:
        run(marshal.loads(spec_pipe.read()))


def run(spec: dict) -> None:
    """Never returns: the process ends with the command's exit status (125: sandbox failure)."""
    try:
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID), "unshare")
    except OSError as error:
        print(f"lamina: preparing the sandbox failed: {error}", file=sys.stderr)
        os._exit(125)
    init = os.fork()
    if init:
        _forward_signals(init)
        _exit_with(_wait_as_init(init))
    # PID 1 of the new namespace: mounts, then the command as its child. When this process exits
    # the kernel kills whatever the command left running, as a container runtime would.
    try:
        _setup_mounts(spec)
    except OSError as error:
        print(f"lamina: preparing the sandbox failed: {error}", file=sys.stderr)
        os._exit(125)
    command = os.fork()
    if command == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            _enter(spec)
        except OSError as error:
            print(f"lamina: entering the sandbox failed: {error}", file=sys.stderr)
            os._exit(125)
        _exec(spec)
    _forward_signals(command)
    _exit_with(_wait_as_init(command))


if __name__ == "__main__":
    main()
