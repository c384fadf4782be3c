"""Which directories of a root may have changed since they were last listed, from inotify.

Statting every path is what a snapshot of a big root costs: about 3 us a file on a loaded
machine, so 3 s or more for 1,000,000 files, however little Python runs around it. A directory
watched from just before it was listed, and that has had no event since, still holds exactly what
was listed: every change to an entry (content written, even through a shared mapping, whose
IN_CLOSE_WRITE comes when the file is last closed; mode, owner, times, xattrs; entries created,
deleted or renamed) is reported to the watch on its directory. So a snapshot lists only the
directories that had an event, and their parents (whose entry for the directory, its mtime and
link count, moved with it), and reuses the previous listing of the others.

What a watch cannot see, the snapshot does not trust it for: a file with more than one link can
change through a name in another directory (those directories are always listed again), and a
directory reachable by two paths (a bind mount) answers only one of them (both are always listed).
A watch is one-shot (IN_ONESHOT): its first event removes it, so the kernel queues at most two
events per directory and none for later changes to a directory already known to be dirty; when
the queue overflows anyway, or inotify is not available, every directory is listed.

Watches count against the user's budget for the whole machine (``max_user_watches``; root in a
container is root of the node), which the kubelet and others need too: a snapshot arms at most a
quarter of it, and the directories beyond that are simply listed every time.
"""

from __future__ import annotations

import ctypes
import errno
import os
import struct

__all__ = ["DirectoryWatcher"]

_IN_MODIFY = 0x00000002
_IN_ATTRIB = 0x00000004
_IN_CLOSE_WRITE = 0x00000008
_IN_MOVED_FROM = 0x00000040
_IN_MOVED_TO = 0x00000080
_IN_CREATE = 0x00000100
_IN_DELETE = 0x00000200
_IN_DELETE_SELF = 0x00000400
_IN_MOVE_SELF = 0x00000800
_IN_Q_OVERFLOW = 0x00004000
_IN_ONLYDIR = 0x01000000
_IN_ONESHOT = 0x80000000
_MASK = (_IN_MODIFY | _IN_ATTRIB | _IN_CLOSE_WRITE | _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE
         | _IN_DELETE | _IN_DELETE_SELF | _IN_MOVE_SELF | _IN_ONLYDIR | _IN_ONESHOT)

_WATCH_BUDGET = "/proc/sys/fs/inotify/max_user_watches"
_SHARE_OF_BUDGET = 4  # one part in four for lamina, three left to the rest of the machine
_LIMIT_WITHOUT_BUDGET = 8192 // _SHARE_OF_BUDGET  # the kernel's historic default budget

_EVENT = struct.Struct("<iIII")  # wd, mask, cookie, len (then len bytes of name)


class _Inotify:
    """The three system calls, through libc (the standard library has no binding)."""

    def __init__(self) -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        self.init1 = libc.inotify_init1
        self.init1.argtypes = [ctypes.c_int]
        self.add_watch = libc.inotify_add_watch
        self.add_watch.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.rm_watch = libc.inotify_rm_watch
        self.rm_watch.argtypes = [ctypes.c_int, ctypes.c_int]


class DirectoryWatcher:
    """One-shot watches on the directories of a root, by directory prefix ("" the root, "etc/").

    ``watch(fd, prefix)`` arms one just before the directory is listed; ``collect()`` reads what
    happened since; ``clean(prefix)`` then says whether the directory is unchanged since it was
    listed. Not thread-safe: one snapshot at a time uses it.
    """

    def __init__(self, limit: int | None = None) -> None:
        self._limit = _watch_limit() if limit is None else limit
        self._fd = -1
        self._by_wd: dict[int, str] = {}
        self._by_prefix: dict[str, int] = {}
        self._shared: set[str] = set()  # prefixes whose directory another prefix watches too
        self._armed: set[str] = set()  # prefixes watched since the last collect()
        self._overflowed = False
        self._proc = "/proc/self/fd/"
        try:
            self._calls: _Inotify | None = _Inotify()
            fd = self._calls.init1(os.O_NONBLOCK | os.O_CLOEXEC)
        except (OSError, AttributeError):  # no libc symbol (not Linux, not glibc/musl)
            self._calls = None
            return
        if fd >= 0:
            self._fd = fd

    @property
    def available(self) -> bool:
        return self._fd >= 0

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        self.forget()

    def forget(self) -> None:
        """Trust no earlier listing (the next snapshot lists everything again)."""
        self._by_wd.clear()
        self._by_prefix.clear()
        self._shared.clear()
        self._armed.clear()
        self._overflowed = False

    def watch(self, fd: int, prefix: str) -> None:
        """Arm a watch on the open directory ``fd``, known as ``prefix``, before it is listed.
        A directory that cannot be watched (no more watches allowed) is simply never clean."""
        if self._fd < 0 or self._calls is None:
            return
        old = self._by_prefix.pop(prefix, None)
        if old is not None:
            self._by_wd.pop(old, None)
        elif len(self._by_wd) >= self._limit:
            return  # over lamina's share of the watches: listed every time
        wd = -1
        if self._proc:
            # The fd's own inode, through /proc, not a path that could name another directory by now.
            wd = self._calls.add_watch(self._fd, f"{self._proc}{fd}".encode(), _MASK)
            if wd < 0 and ctypes.get_errno() == errno.ENOENT:
                self._proc = ""  # no /proc: never clean, rather than watch by a path
        if old is not None and old != wd:
            self._calls.rm_watch(self._fd, old)  # the prefix names another directory now
        if wd < 0:
            return
        other = self._by_wd.get(wd)
        if other is not None and other != prefix:
            if other in self._armed:
                # The same directory under two prefixes: an event would tell only one of them.
                self._shared.update((other, prefix))
            else:  # moved with its parent since it was listed as ``other``
                del self._by_prefix[other]
        self._by_wd[wd] = prefix
        self._by_prefix[prefix] = wd
        self._armed.add(prefix)

    def collect(self) -> bool:
        """Read the events since the last call: every directory they concern is no longer
        clean. False if events were lost (the queue overflowed): nothing is clean then."""
        if self._fd < 0:
            return False
        self._armed.clear()
        while True:
            try:
                data = os.read(self._fd, 1 << 16)
            except BlockingIOError:
                break
            offset = 0
            while offset < len(data):
                wd, mask, _, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size + length
                if mask & _IN_Q_OVERFLOW:
                    self._overflowed = True
                    continue
                # One-shot: the watch is gone (its IN_IGNORED follows, and finds nothing to drop).
                prefix = self._by_wd.pop(wd, None)
                if prefix is None:
                    continue
                if self._by_prefix.get(prefix) == wd:
                    del self._by_prefix[prefix]
                if prefix:
                    # The directory's own facts (mtime, nlink) are an entry of its parent's
                    # listing, and no event tells the parent when its entries change.
                    self._by_prefix.pop(prefix[:prefix.rfind("/", 0, len(prefix) - 1) + 1], None)
        if self._overflowed:
            self.forget()
            return False
        return True

    def clean(self, prefix: str) -> bool:
        """Watched since it was last listed, and nothing happened to it or its entries."""
        return prefix in self._by_prefix and prefix not in self._shared

    def __len__(self) -> int:
        return len(self._by_prefix)


def _watch_limit() -> int:
    try:
        with open(_WATCH_BUDGET) as budget:
            return max(int(budget.read()) // _SHARE_OF_BUDGET, 1)
    except (OSError, ValueError):
        return _LIMIT_WITHOUT_BUDGET
