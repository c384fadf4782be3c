"""Landlock confinement of a RUN command in container mode, on the raw system calls (ctypes).

In the executor's own container a RUN is an ordinary process beside the executor, as in kaniko.
Landlock (Linux 5.13+) lets a process give up access for itself and everything it starts, without
privileges. Its rules only ever *grant*: a right given on a directory holds for everything below
it. So the kaniko dir is protected by granting every right on everything *beside* the way to it
(at each level from ``/`` down, every other entry) and none on the directories on the way (``/``
itself for ``/kaniko``): any right on ``/`` would hold under ``/kaniko`` too. The command can then
neither read, list, write, execute, truncate, rename, delete nor create anything under the kaniko
dir (a planted entry could pass for an image the build extracted there).

What each ABI adds, and what is used:
- 1: the file system rights; the domain cannot ptrace (nor read ``/proc/PID/mem`` or
  ``environ`` of) any process outside it: the executor.
- 2: ``REFER`` (moving and linking between directories; handled, so granted where all else is).
- 3: ``TRUNCATE``.  4: TCP ``bind``/``connect`` (denied for ``RUN --network=none``; UDP and unix
  sockets are not covered).  5: ``IOCTL_DEV`` on device files.
- 6: scoping: no signals to, and no abstract unix sockets of, processes outside the domain.
- 7: audit logging only: nothing more to use.

The price of granting nothing on ``/`` itself: a RUN cannot list ``/`` nor create, remove or
rename entries directly in it (``mkdir /app``, ``> /file``); everything below the existing
top-level directories works as before. WORKDIR and COPY (run by the executor, not confined) create
top-level directories as usual, and from the next RUN on they are entries beside the kaniko dir
like any other. ``--confine-run=false`` gives a build that needs more the old kaniko behaviour.

This module imports only the standard library: the RUN launcher loads it.
"""

from __future__ import annotations

import ctypes
import os
import struct

__all__ = ["abi_version", "confine"]

SYS_CREATE_RULESET, SYS_ADD_RULE, SYS_RESTRICT_SELF = 444, 445, 446  # the same on every arch
CREATE_RULESET_VERSION = 1
RULE_PATH_BENEATH = 1
PR_SET_NO_NEW_PRIVS = 38

EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
REMOVE_DIR, REMOVE_FILE = 1 << 4, 1 << 5
MAKE_CHAR, MAKE_DIR, MAKE_REG, MAKE_SOCK, MAKE_FIFO, MAKE_BLOCK, MAKE_SYM = (1 << n for n in range(6, 13))
REFER, TRUNCATE, IOCTL_DEV = 1 << 13, 1 << 14, 1 << 15
NET_BIND_TCP, NET_CONNECT_TCP = 1 << 0, 1 << 1
SCOPE_ABSTRACT_UNIX_SOCKET, SCOPE_SIGNAL = 1 << 0, 1 << 1

FS_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # what a rule on a file may hold

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


def abi_version() -> int:
    """The kernel's Landlock ABI, 0 when it has none (or it is disabled)."""
    result = _libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), None, ctypes.c_size_t(0),
                           ctypes.c_uint32(CREATE_RULESET_VERSION))
    return max(int(result), 0)


def _fs_rights(abi: int) -> int:
    return FS_RIGHTS_BY_ABI[max(level for level in FS_RIGHTS_BY_ABI if level <= abi)]


def _fail(what: str) -> OSError:
    errno = ctypes.get_errno()
    return OSError(errno, f"landlock {what}: {os.strerror(errno)}")


def _ruleset(abi: int, deny_tcp: bool) -> int:
    fs = _fs_rights(abi)
    net = NET_BIND_TCP | NET_CONNECT_TCP if deny_tcp and abi >= 4 else 0
    scoped = SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0
    fields = [fs] + ([net] if abi >= 4 else []) + ([scoped] if abi >= 6 else [])
    attr = struct.pack(f"{len(fields)}Q", *fields)
    fd = _libc.syscall(ctypes.c_long(SYS_CREATE_RULESET), attr, ctypes.c_size_t(len(attr)),
                       ctypes.c_uint32(0))
    if fd < 0:
        raise _fail("create_ruleset")
    return int(fd)


def _allow(ruleset: int, path: str, rights: int) -> None:
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return  # gone meanwhile: nothing to grant
    try:
        if os.path.islink(path):
            return  # a link's target is granted (or not) where it lies
        if not os.path.isdir(path):
            rights &= FILE_RIGHTS
        attr = struct.pack("=Qi", rights, fd)  # struct landlock_path_beneath_attr is packed
        if _libc.syscall(ctypes.c_long(SYS_ADD_RULE), ctypes.c_int(ruleset),
                         ctypes.c_int(RULE_PATH_BENEATH), attr, ctypes.c_uint32(0)) != 0:
            raise _fail(f"add_rule {path}")
    finally:
        os.close(fd)


def confine(protected: str, allowed_inside: tuple[str, ...] = (), deny_tcp: bool = False) -> int:
    """Restrict this process and its future children: nothing under ``protected`` (an absolute
    directory) but the ``allowed_inside`` subtrees; no TCP with ``deny_tcp`` (ABI 4+). Returns
    the ABI used; raises OSError when the kernel refuses."""
    abi = abi_version()
    if abi == 0:
        raise OSError(0, "this kernel offers no Landlock")
    everything = _fs_rights(abi)
    ruleset = _ruleset(abi, deny_tcp)
    try:
        parts = [part for part in protected.split("/") if part]
        directory = "/"
        for part in parts:
            for entry in os.listdir(directory):
                if entry != part:
                    _allow(ruleset, os.path.join(directory, entry), everything)
            directory = os.path.join(directory, part)
        for inside in allowed_inside:
            _allow(ruleset, inside, everything)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _fail("no_new_privs")
        if _libc.syscall(ctypes.c_long(SYS_RESTRICT_SELF), ctypes.c_int(ruleset), ctypes.c_uint32(0)) != 0:
            raise _fail("restrict_self")
    finally:
        os.close(ruleset)
    return abi
