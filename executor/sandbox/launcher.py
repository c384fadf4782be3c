"""Runs one RUN command. In container mode (root ``/``) beside the executor, confined by Landlock
(landlock.py), its mounts in a namespace of its own or placed in the root by the executor. In
sandbox mode inside its root as a container runtime would: private mount and PID namespaces, the
root made the namespace's own root with ``pivot_root`` (no chroot escape leads back to the host),
mounted ``nodev`` (a layer's device nodes are inert; /dev holds only the usual safe nodes), the
capability bounding set cut to Docker's default set.

Started as ``python -I -S launcher.py FD`` (the spec is read from pipe FD, keeping the environment
out of the process list) by ``executor.sandbox.runner``; it imports only the standard library so it
starts fast whatever is installed in the build root, and nothing once it has changed root (the
library is then out of view; see ``_exec``). Every mount it makes lives in its own mount namespace:
the kernel removes them all when the command's last process exits, even when the executor is
killed, so no mount is ever left behind on the host."""

from __future__ import annotations

import ctypes
import marshal
import os
import signal
import sys
import time

CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWNET = 0x00020000, 0x20000000, 0x40000000
SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP = 0x8913, 0x8914, 0x1
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 8, 32, 4096, 16384
MS_PRIVATE = 1 << 18
MNT_DETACH = 2
PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER = 24, 36
# pivot_root has no libc wrapper: its system call number, by machine
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41, "ppc64le": 203, "s390x": 217,
                  "armv7l": 218, "armv8l": 218}
# What Docker (moby's oci/caps/defaults.go) leaves a container: no SYS_ADMIN, SYS_PTRACE,
# NET_ADMIN, SYS_MODULE, ... CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
# NET_BIND_SERVICE NET_RAW SYS_CHROOT MKNOD AUDIT_WRITE SETFCAP, by number.
DOCKER_DEFAULT_CAPABILITIES = frozenset({0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31})

DEVICE_NODES = ("null", "zero", "full", "random", "urandom", "tty")
# Where a command without PATH in its environment is looked up: Docker's (BuildKit's DefaultPathEnv).
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# The interpreter's own symbols include libc's; ctypes.util.find_library would run ldconfig, and json
# would import re: this process starts for every RUN, so it imports little (the spec is marshal data).
_libc = ctypes.CDLL(None, use_errno=True)


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(_libc.mount(source and source.encode(), target.encode(), fstype and fstype.encode(),
                       ctypes.c_ulong(flags), data and data.encode()), f"mount {target}")


def _place_file(target: str, content: bytes) -> None:
    """Write a host file's copy (resolv.conf, hosts) at ``target`` after chroot (symlinks in the path
    resolve inside the root). A copy, not a bind mount: a RUN may replace or delete it, or all of
    /etc, without a mount point's EBUSY; the build keeps these paths out of every layer."""
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
    they never reach a layer; creating one here only happens inside this namespace's own /dev tmpfs."""
    path = os.path.join(root, target.lstrip("/"))
    os.makedirs(path if is_dir else os.path.dirname(path), exist_ok=True)
    if not is_dir and not os.path.lexists(path):
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
    # The root becomes a mount of its own (for pivot_root), without device nodes.
    _mount(root, root, None, MS_BIND | MS_REC)
    _mount(None, root, None, MS_BIND | MS_REMOUNT | MS_NODEV)
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


def _pivot_into(root: str) -> None:
    """Make ``root`` this namespace's ``/`` and let go of the old one (runc's pivot_root(".",
    ".") and detach): unlike chroot, nothing is left to climb back to."""
    number = SYS_PIVOT_ROOT.get(os.uname().machine)
    if number is None:
        raise OSError(0, f"pivot_root: unknown system call number on {os.uname().machine}")
    os.chdir(root)
    _check(_libc.syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", ctypes.c_int(MNT_DETACH)), "detaching the old root")
    os.chdir("/")


def _drop_capabilities(last_capability: int) -> None:
    """Cut the bounding set to Docker's defaults, for the command and all it executes, setuid too."""
    for capability in range(last_capability + 1):
        if capability not in DOCKER_DEFAULT_CAPABILITIES:
            _check(_libc.prctl(PR_CAPBSET_DROP, ctypes.c_ulong(capability), 0, 0, 0),
                   f"dropping capability {capability}")


def _last_capability() -> int:
    try:
        with open("/proc/sys/kernel/cap_last_cap", "rb") as f:
            return int(f.read())
    except (OSError, ValueError):
        return 40


def _read_copies(spec: dict) -> dict[str, bytes]:
    copies = {}
    for name, source in spec.get("files", {}).items():
        with open(source, "rb") as f:
            copies[name] = f.read()
    return copies


def _confine(confine: dict) -> None:
    """Landlock (container mode): see landlock.py beside this file, loaded only when needed."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import landlock  # type: ignore[import-not-found]  # found beside this file at run time

    landlock.confine(confine["protected"], tuple(confine.get("allowed", ())),
                     deny_tcp=bool(confine.get("deny_tcp")))


def _enter(spec: dict, copies: dict[str, bytes], last_capability: int) -> None:
    for name, content in copies.items():
        _place_file("/" + name, content)
    os.chdir(spec.get("cwd") or "/")
    _drop_capabilities(last_capability)
    if spec.get("confine"):
        _confine(spec["confine"])
    os.setgroups(spec.get("groups", []))
    os.setgid(spec.get("gid", 0))
    os.setuid(spec.get("uid", 0))


def _exec(spec: dict) -> None:
    """Become the command, a name without a slash looked up on its PATH (Docker's default if it has
    none) as execvp does. Not ``os.execvpe``: it imports ``warnings``, and the interpreter's library
    is out of reach here (outside the new root, or denied by Landlock): only loaded code may run."""
    argv, env = spec["argv"], spec["env"]
    name = argv[0]
    candidates = [name] if not name or "/" in name else \
        [os.path.join(directory or ".", name) for directory in env.get("PATH", DEFAULT_PATH).split(":")]
    refused: OSError | None = None  # EACCES and the like win over "not there", as in execvp
    error: OSError = FileNotFoundError(2, "No such file or directory")
    for candidate in candidates:
        try:
            os.execve(candidate, argv, env)
        except (FileNotFoundError, NotADirectoryError) as missing:
            error = missing
        except OSError as refusal:
            refused = refused or refusal
    error = refused or error
    print(f"lamina: exec {name}: {error.strerror}", file=sys.stderr)
    os._exit(127 if isinstance(error, FileNotFoundError) else 126)


def _wait_as_init(child: int) -> int:
    """Pass signals on to ``child``; reap every process (of the namespace, or orphaned to this
    subreaper) until ``child`` itself exits; return its status."""
    def forward(signum: int, _frame: object) -> None:
        try:
            os.kill(child, signum)
        except ProcessLookupError:
            pass

    for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(signum, forward)
    while True:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            return 1
        if pid == child:
            return os.waitstatus_to_exitcode(status)


def _loopback_up() -> None:
    """A new network namespace starts with ``lo`` down; a RUN expects it up."""
    import fcntl
    import socket
    import struct

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sH", b"lo", 0)
        flags = struct.unpack("16sH", fcntl.ioctl(sock, SIOCGIFFLAGS, request))[1]
        fcntl.ioctl(sock, SIOCSIFFLAGS, struct.pack("16sH", b"lo", flags | IFF_UP))


def _join_network(path: str) -> None:
    """``sandbox``: the build's network namespace (``hold_network``'s, slirp4netns attached once)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        _check(_libc.setns(fd, CLONE_NEWNET), "joining the build's network namespace")
    finally:
        os.close(fd)


def hold_network(ready_fd: int) -> None:
    """The holder of a build's network namespace: a new one with ``lo`` up, then (as ``sleep``,
    a megabyte where this interpreter takes ten) wait until the runner ends it with the build."""
    try:
        _check(_libc.unshare(CLONE_NEWNET), "unshare")
        _loopback_up()
    except OSError as error:
        print(f"lamina: making the build's network failed: {error}", file=sys.stderr)
        os._exit(125)
    os.write(ready_fd, b"u")
    os.close(ready_fd)
    for sleep in ("/bin/sleep", "/usr/bin/sleep"):
        if os.path.exists(sleep):
            os.execv(sleep, ["sleep", "infinity"])
    sys.stdin.buffer.read()  # no sleep binary: wait here instead
    os._exit(0)


def _exit_with(code: int) -> None:
    os._exit(128 - code if code < 0 else code)


def _run_beside(spec: dict) -> None:
    """Container mode without a namespace (an unprivileged container allows none): the confinement,
    then the command in this very process or, with ``reap`` (its mounts are placed in the root), in
    a child whose leftovers die with it, before the executor restores the root: this process is
    their subreaper, so orphans come back to it and none gets away."""
    try:
        if not spec.get("reap"):
            _enter(spec, {}, _last_capability())
            _exec(spec)
        _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "becoming a subreaper")
    except OSError as error:
        print(f"lamina: confining the command failed: {error}", file=sys.stderr)
        os._exit(125)
    code, me = _run_command(spec, {}, _last_capability()), str(os.getpid()).encode()
    while True:  # kill this process's children (a killed one's come back to it) until none is left
        for pid in filter(str.isdigit, os.listdir("/proc")):
            try:
                with open(f"/proc/{pid}/stat", "rb") as stat:
                    if stat.read().rsplit(b")", 1)[1].split()[1] == me:
                        os.kill(int(pid), signal.SIGKILL)
            except (OSError, IndexError):
                continue
        try:
            if os.waitpid(-1, os.WNOHANG)[0] == 0:
                time.sleep(0.01)  # none has exited yet
        except ChildProcessError:
            _exit_with(code)


def main() -> None:
    if sys.argv[1] == "--hold-network":
        hold_network(int(sys.argv[2]))
    with os.fdopen(int(sys.argv[1]), "rb") as spec_pipe:
        run(marshal.loads(spec_pipe.read()))


def run(spec: dict) -> None:
    """Never returns: the process ends with the command's exit status (125: sandbox failure)."""
    if not spec.get("namespaces", True):
        _run_beside(spec)
    network = spec.get("network", "host")
    try:
        if network == "sandbox":
            _join_network(spec["netns"])
        _check(_libc.unshare(CLONE_NEWNS | CLONE_NEWPID | (CLONE_NEWNET if network == "none" else 0)),
               "unshare")
        if network == "none":
            _loopback_up()  # a namespace with only lo
    except OSError as error:
        print(f"lamina: preparing the sandbox failed: {error}", file=sys.stderr)
        os._exit(125)
    init = os.fork()
    if init:
        _exit_with(_wait_as_init(init))
    # PID 1 of the new namespace: mounts, then the command as its child. When this process exits
    # the kernel kills whatever the command left running, as a container runtime would.
    try:
        # host files, read while the host is still in view (on / they are the container's own)
        copies = _read_copies(spec) if spec["root"] != "/" else {}
        last_capability = _last_capability()
        _setup_mounts(spec)
        if spec["root"] != "/":
            _pivot_into(spec["root"])
    except OSError as error:
        print(f"lamina: preparing the sandbox failed: {error}", file=sys.stderr)
        os._exit(125)
    _exit_with(_run_command(spec, copies, last_capability))


def _run_command(spec: dict, copies: dict[str, bytes], last_capability: int) -> int:
    """The command in a child of this process, which passes signals on and reaps until it exits."""
    command = os.fork()
    if command == 0:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        try:
            _enter(spec, copies, last_capability)
        except OSError as error:
            print(f"lamina: entering the sandbox failed: {error}", file=sys.stderr)
            os._exit(125)
        _exec(spec)
    return _wait_as_init(command)


if __name__ == "__main__":
    main()
