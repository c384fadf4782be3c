"""RUN --mount without mounting: where a RUN cannot have a mount namespace (the executor's own
container under Docker's default capabilities and seccomp: no CAP_SYS_ADMIN), each mount is
*placed* in the root for the time of the command, as kaniko's maintained fork and other daemonless
builders do, and taken away again before the snapshot.

Before the command, whatever is at each target is moved aside (renamed into the kaniko dir's
scratch, out of a confined command's reach; next to the target where that is another filesystem),
then the mount's content is put there (see the ``place`` method of each mount in runner.py):

- a cache's own directory is renamed into place and back afterwards, so what the command writes
  persists (a read-only cache is copied instead);
- a bind's source is copied (owners, modes, times, hard links kept); a private copy (``rw``) is
  moved. Read-only is not enforced: chmod does not stop root, and a command copying from the mount
  (``cp -r``, pip) would carry stripped modes into the image, so modes stay as they are and a write
  lands in the copy, which is discarded;
- an inline file (a secret, a heredoc script) is written with its mode and owner;
- a tmpfs is an empty directory (mode 1777; its size is not enforced);
- an ssh agent's socket is a new socket the executor listens on, bound at the target.

After the command (failed or interrupted too; SIGTERM, SIGINT, SIGHUP and SIGQUIT are held while the root is
changed) everything placed is removed, or moved back, last first, what was there is put back and
the directories' times are restored: the snapshot sees what a mount would have left.

A placed file lies in the root while the command runs: anything running as root in the container
can read it (mode 0400 root is the bound), and its bytes are written to the container's disk. The
launcher kills whatever the command leaves running before the root is restored, so nothing of it
can put a secret back; a placed file the command moved or hard-linked elsewhere is emptied and
stops the build, so that no layer holds it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import signal
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Protocol

from executor.errors import BuildError

__all__ = ["Placeable", "Placement", "PlacementError", "held_lock", "placed"]

HELD_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)
TMPFS_MODE = 0o1777  # a tmpfs mounted without mode=: the kernel's default for its root
ASIDE_PREFIX = ".lamina-aside-"
# A directory on the way to a target: opened, never followed if it is a symbolic link.
DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class PlacementError(BuildError):
    """A mount could not be placed in the root, or its removal found something that must not stay."""


class Placeable(Protocol):
    @property
    def target(self) -> str:
        """Where it goes: absolute in the root, symbolic links resolved."""

    def place(self, placement: Placement) -> None:
        """Put this mount's content at its target, through ``placement``."""


@contextmanager
def placed(mounts: Sequence[Placeable], *, root: Path, aside: Path, protected: Path) -> Iterator[None]:
    """``mounts`` placed in ``root`` (in order) while the block runs; everything restored after.

    ``aside`` is a scratch directory (in the kaniko dir) for what the targets held; no target may
    lie in ``protected`` (the kaniko dir) or be a directory holding it. A failure while placing
    undoes what was placed so far."""
    stack = ExitStack()
    try:
        with _signals_held():
            placement = Placement(root, aside, protected, stack)
            for mount in mounts:
                try:
                    mount.place(placement)
                except OSError as error:
                    raise PlacementError(f"cannot place the mount at {mount.target}: {error.strerror}") from None
    except BaseException:  # a failure, or a signal held meanwhile: nothing stays placed
        with _signals_held():
            stack.close()
        raise
    try:
        yield
    finally:
        with _signals_held():
            try:
                stack.close()
            except OSError as error:
                raise PlacementError(f"taking the mounts away after the command failed: {error.strerror} "
                                     "(the root may keep some of their content)") from None


@contextmanager
def held_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (waiting for it): the cache it guards can only be in one
    place at a time. Taken before the root is changed, so a signal can still end the wait."""
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


class Placement:
    """Puts mount content at targets in ``root``; each step registers its undo on ``stack``."""

    def __init__(self, root: Path, aside: Path, protected: Path, stack: ExitStack) -> None:
        self.root = root
        self._aside = aside
        self._protected = protected
        self._stack = stack
        self._aside_dir: Path | None = None
        self._count = 0

    def tree(self, source: Path, target: str, *, move: bool) -> None:
        """``source`` (a directory or file) shown at ``target``: moved there and back (``move``:
        it is this command's alone) or copied there and removed."""
        path = self._slot(target)
        if move:
            self._stack.callback(_return, path, source, source.is_dir())
            _move(source, path)
        else:
            with _times_kept(path.parent):
                self._stack.callback(_remove, path)
                _copy(source, path, {})

    def file(self, target: str, content: bytes, *, mode: int, uid: int, gid: int) -> None:
        path = self._slot(target)
        with _times_kept(path.parent):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            try:
                # the inode is kept by an O_PATH descriptor: one open for writing would make a
                # script placed there unexecutable (ETXTBSY)
                held = os.open(f"/proc/self/fd/{fd}", os.O_PATH | os.O_CLOEXEC)
            except OSError:
                os.close(fd)
                os.unlink(path)
                raise
            self._stack.callback(_erase, held, path, target)
            try:
                view = memoryview(content)
                while view:
                    view = view[os.write(fd, view):]
                os.fchown(fd, uid, gid)
                os.fchmod(fd, mode)  # after chown, which clears the set-id bits
            finally:
                os.close(fd)

    def socket(self, target: str, listen: Callable[[str], None]) -> None:
        """A Unix socket ``listen`` binds at ``target`` (an ssh agent's proxy), unlinked after."""
        path = self._slot(target)
        with _times_kept(path.parent):
            self._stack.callback(_remove, path)
            listen(str(path))

    def empty_directory(self, target: str) -> None:
        path = self._slot(target)
        with _times_kept(path.parent):
            os.mkdir(path, 0o700)
            self._stack.callback(_remove, path)
            os.chmod(path, TMPFS_MODE)

    def _slot(self, target: str) -> Path:
        """Where ``target`` (resolved in the root already) is, as a path through its parent
        directory's descriptor: what the command does to the path's directories meanwhile (a
        symbolic link put in their place) cannot send the restore elsewhere. The parents are made
        real directories where missing; whatever is at the target is moved aside."""
        path = self.root / target.lstrip("/")
        if path == self.root or path.is_relative_to(self._protected) or self._protected.is_relative_to(path):
            where = "/" if path == self.root else "or holds the kaniko dir"
            raise PlacementError(f"cannot place a mount at {target}: it is {where}")
        slot = self._parent(path, target) / path.name
        if os.path.lexists(slot):
            held = self._aside_path(slot)
            _move(slot, held)
            self._stack.callback(_move, held, slot)
        return slot

    def _parent(self, path: Path, target: str) -> Path:
        """The parent directory of ``path``, opened without following a symbolic link; a missing
        one (inside an earlier mount's content) is made for this mount only."""
        directory = self._open(os.open(self.root, DIRECTORY_FLAGS))
        for part in path.relative_to(self.root).parts[:-1]:
            try:
                directory = self._open(os.open(directory / part, DIRECTORY_FLAGS))
            except FileNotFoundError:
                with _times_kept(directory):
                    os.mkdir(directory / part, 0o755)
                self._stack.callback(_rmdir_if_empty, directory / part)
                directory = self._open(os.open(directory / part, DIRECTORY_FLAGS))
            except (NotADirectoryError, OSError) as error:
                raise PlacementError(f"cannot place a mount at {target}: {part!r} on the way is not a "
                                     f"directory ({error.strerror}; a symbolic link in an earlier mount's "
                                     "content?)") from None
        return directory

    def _open(self, fd: int) -> Path:
        self._stack.callback(os.close, fd)  # closed after every step that uses it is undone
        return Path(f"/proc/self/fd/{fd}")

    def _aside_path(self, path: Path) -> Path:
        """Where ``path`` waits for the command to end: the scratch directory where it is on the same
        filesystem (so a rename moves it), else a hidden name beside it."""
        self._count += 1
        if self._aside_dir is None:
            self._aside.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._aside_dir = Path(tempfile.mkdtemp(dir=self._aside, prefix="run-"))
            self._stack.callback(_rmdir_if_empty, self._aside_dir)
        if os.stat(self._aside_dir).st_dev == os.stat(path.parent).st_dev:
            return self._aside_dir / str(self._count)
        return path.parent / f"{ASIDE_PREFIX}{os.getpid()}-{self._count}-{path.name}"[:255]


@contextmanager
def _signals_held() -> Iterator[None]:
    """Defer SIGTERM/SIGINT/SIGHUP/SIGQUIT until the block is done, then raise them (the build's own
    handlers run), so an interruption never finds the root half placed or half restored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    pending: list[int] = []
    previous = {signum: signal.signal(signum, lambda number, _frame: pending.append(number))
                for signum in HELD_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for number in pending:
            signal.raise_signal(number)


@contextmanager
def _times_kept(*directories: Path) -> Iterator[None]:
    """Put the access and modification times of ``directories`` back after the block changed
    their entries: a mount placed and removed leaves no trace in them, as a real one does not."""
    times = [(path, os.stat(path)) for path in directories]
    try:
        yield
    finally:
        for path, st in times:
            try:
                os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
            except OSError:
                pass


def _move(source: Path, target: Path) -> None:
    """Rename ``source`` to ``target``; across filesystems (or out of an overlayfs lower layer),
    copy it and delete the original."""
    with _times_kept(source.parent, target.parent):
        try:
            os.rename(source, target)
        except OSError as error:
            if error.errno != errno.EXDEV:
                raise
            # Copied under a temporary name and renamed whole: a kill half-way leaves a stray
            # partial copy, never a cache that the next build would take for a complete one.
            partial = target.with_name(f".partial-{os.getpid()}-{target.name}"[:255])
            try:
                _copy(source, partial, {})
                os.rename(partial, target)
            except BaseException:
                _remove(partial)
                raise
            _remove(source)  # only once the whole copy stands in its place


def _return(path: Path, source: Path, is_dir: bool) -> None:
    """A moved-in source goes back where it came from (a cache keeps what the command wrote),
    unless the command replaced it by something else. An empty cache another build made there
    meanwhile (finding it gone) gives way; one it has filled wins, and this command's is dropped."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return  # the command removed it
    if stat.S_ISDIR(st.st_mode) != is_dir or stat.S_ISLNK(st.st_mode):
        _remove(path)
        return
    try:
        os.rmdir(source)
    except (FileNotFoundError, NotADirectoryError):
        pass
    except OSError:
        _remove(path)
        return
    _move(path, source)


def _remove(path: Path) -> None:
    with _times_kept(path.parent):
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
        except FileNotFoundError:
            pass


def _rmdir_if_empty(path: Path) -> None:
    with _times_kept(path.parent):
        try:
            os.rmdir(path)
        except OSError:
            pass  # the command left something in it: it stays, and goes into the layer


def _erase(held: int, path: Path, target: str) -> None:
    """Remove a placed file (``held``: an O_PATH descriptor of its inode); first empty it, so no
    link the command made to it keeps its bytes. The inode must then be linked nowhere: else the
    command moved or hard-linked it."""
    inode = f"/proc/self/fd/{held}"
    try:
        os.chmod(inode, 0o600)  # its mode may let no one but root write to it
        os.truncate(inode, 0)
        _remove(path)  # the file, or whatever the command put in its place
        links = os.fstat(held).st_nlink
    finally:
        os.close(held)
    if links:
        raise PlacementError(f"the command moved or hard-linked the file placed at {target} (a secret "
                             "or heredoc script) elsewhere in the root; its content was erased there, "
                             "and the build stops so that no layer holds it")


def _copy(source: Path, target: Path, linked: dict[tuple[int, int], Path]) -> None:
    """``source`` copied to ``target`` as a bind mount would show it: type, content, owner, mode,
    times and extended attributes; files hard-linked in ``source`` are hard-linked in the copy."""
    st = os.lstat(source)
    mode = st.st_mode
    if stat.S_ISREG(mode) and st.st_nlink > 1 and (st.st_dev, st.st_ino) in linked:
        os.link(linked[(st.st_dev, st.st_ino)], target)
        return
    if stat.S_ISDIR(mode):
        os.mkdir(target, 0o700)
        for name in os.listdir(source):
            _copy(source / name, target / name, linked)
    elif stat.S_ISLNK(mode):
        os.symlink(os.readlink(source), target)
    elif stat.S_ISREG(mode):
        shutil.copyfile(source, target, follow_symlinks=False)
        linked[(st.st_dev, st.st_ino)] = target
    elif stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        os.mknod(target, mode, st.st_rdev)
    else:
        return  # a socket: nothing a copy can reproduce
    os.lchown(target, st.st_uid, st.st_gid)
    _copy_xattrs(source, target)
    if not stat.S_ISLNK(mode):
        os.chmod(target, stat.S_IMODE(mode))
    os.utime(target, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _copy_xattrs(source: Path, target: Path) -> None:
    try:
        names = os.listxattr(source, follow_symlinks=False)
    except OSError:
        return
    for name in names:
        try:
            os.setxattr(target, name, os.getxattr(source, name, follow_symlinks=False), follow_symlinks=False)
        except OSError:
            continue  # security.* and the like where this process may not set them
