"""Apply a layer tar over a root, per the OCI image layer spec (whiteouts, opaque directories)."""

from __future__ import annotations

import errno
import gzip
import logging
import os
import shutil
import stat
import zlib
from pathlib import Path
from typing import BinaryIO

import xxhash

from .compression import open_layer_stream
from .errors import ExtractError, LayerFormatError, SnapshotError, quoted
from .hints import DigestHints, record_hint
from .ignore import IgnoreList
from .index import pack_stat
from .layer_writer import OPAQUE_WHITEOUT, WHITEOUT_PREFIX
from .rootfs import IGNORED, Escape, InRootResolver, split_entry_name
from .tar_reader import TarEntry, TarReader
from .xattrs import SKIPPED_XATTRS, read_xattrs, write_xattr

__all__ = ["extract_layer", "open_layer_stream"]

log = logging.getLogger(__name__)

_FORMAT_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)
_SPECIAL_BITS = stat.S_ISUID | stat.S_ISGID | stat.S_ISVTX


def extract_layer(stream: BinaryIO, root: Path, ignore: IgnoreList, *, whiteouts: bool = True,
                  hints: DigestHints | None = None, escape: Escape = Escape.REFUSE) -> None:
    """Apply one uncompressed layer tar, read as a stream, over ``root``.

    Entries in ignored paths are skipped. Nothing is ever written outside the root: with
    ``escape=REFUSE`` (archives such as build contexts and ADD's) an entry naming or reaching
    (through a symlink) a place above the root raises ``UnsafeLayerEntry`` before anything is
    written for it; with ``CLAMP`` (image layers, as containerd applies them: the root is ``/``
    for the layer) absolute names and link targets start at the root and ``..`` stops there.
    ``whiteouts=False`` unpacks a plain archive (a build context): ``.wh.`` files are just files.
    With ``hints``, the xxhash of every regular file written is recorded there (with its stat
    facts once written) while its bytes go by, so the snapshot baseline need not read them back.
    No bytes at all is an empty layer, as Go's archive/tar reads it.
    """
    applier = _LayerApplier(os.fspath(root), ignore, whiteouts=whiteouts, hints=hints, escape=escape)
    reader = TarReader(stream)
    entries = iter(reader)
    while True:
        try:
            member = next(entries, None)
        except _FORMAT_ERRORS as e:
            raise LayerFormatError(f"corrupt layer archive: {e}") from e
        if member is None:
            break
        try:
            applier.apply(member, reader)
        except SnapshotError:
            raise
        except _FORMAT_ERRORS as e:
            raise LayerFormatError(f"corrupt layer archive at {quoted(member.name)}: {e}") from e
        except OSError as e:  # the reason without the file name, which may be the hostile part
            raise ExtractError(member.name, applier.root, e.strerror or type(e).__name__) from e
    applier.finish()


class _LayerApplier:
    def __init__(self, root: str, ignore: IgnoreList, *, whiteouts: bool,
                 hints: DigestHints | None = None, escape: Escape = Escape.REFUSE) -> None:
        self.root = root
        self._hints = hints
        self._ignore = ignore
        self._whiteouts = whiteouts
        self._escape = escape
        self._paths = InRootResolver(root, ignore, escape)
        # dir -> names below it written by this layer (or created as their parents); an opaque
        # whiteout keeps these and removes the rest. Packed ("\0"-separated) until a whiteout
        # asks, as a layer of 250,000 files would otherwise hold 250,000 strings in sets.
        self._written: dict[str, bytearray | set[str]] = {}
        self._marked: set[str] = set()  # directories already in their parent's names
        self._dir_times: dict[str, int] = {}  # host path -> mtime ns, applied at the end
        umask = _current_umask()
        # Regular files may skip fchown/fchmod when they are created as the layer wants them
        # (owner = us, no bits the umask removes, no setuid/setgid/sticky): only with hints, whose
        # fstat confirms it. umask unknown: never.
        self._fast_metadata = hints is not None and umask is not None
        self._fixed_by_chmod = _SPECIAL_BITS | (umask or 0)
        self._euid = os.geteuid()
        self._egid = os.getegid()

    # --- entry dispatch -------------------------------------------------------------------

    def apply(self, member: TarEntry, reader: TarReader) -> None:
        rel = split_entry_name(member.name, escape=self._escape)
        if not rel:
            log.debug("layer entry for the root directory itself ignored")
            return
        if self._ignore.ignores(rel):
            return
        cut = rel.rfind("/")
        base = rel[cut + 1 :]
        if self._whiteouts and base.startswith(WHITEOUT_PREFIX):
            self._whiteout(rel[:cut] if cut != -1 else "", base, member.name)
            return
        # The reader yields only the kinds handled here (and logs the ones it skips).
        target = self._paths.resolve(rel, member.name, create=True)
        if target is IGNORED or target is None:
            return
        assert isinstance(target, str)
        host = self._paths.host(target)
        if member.isreg():
            self._regular(member, reader, host, target)
            self._dir_times.pop(host, None)
        elif member.isdir():
            self._directory(member, host)
        elif member.islnk():
            self._hardlink(member, host, target)
        else:
            self._clear(host, target)
            if member.issym():
                os.symlink(member.linkname, host)
                self._metadata(member, host, symlink=True)
            elif member.ischr() or member.isblk():
                if not self._device(member, host):
                    return
            else:
                os.mkfifo(host, 0o600)
                self._metadata(member, host)
            self._dir_times.pop(host, None)
        self._mark_written(target)

    # --- kinds of entries -----------------------------------------------------------------

    def _directory(self, member: TarEntry, host: str) -> None:
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            st = None
        if st is not None and not stat.S_ISDIR(st.st_mode):
            self._remove(host, None)
            st = None
        if st is None:
            os.mkdir(host, 0o700)
        self._metadata(member, host, defer_times=True)

    def _regular(self, member: TarEntry, reader: TarReader, host: str, target: str) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        # Created with its final permissions when the umask leaves them alone, so that (as root,
        # for a 0:0 file) neither fchown nor fchmod is needed; the hint's fstat checks it.
        mode = member.mode & 0o7777
        create_mode = mode & 0o777 if self._fast_metadata else 0o600
        try:
            fd = os.open(host, flags, create_mode)
        except FileExistsError:  # rarely: only then is the lstat of clearing the way worth it
            self._clear(host, target)
            fd = os.open(host, flags, create_mode)
        try:
            digest = xxhash.xxh3_128()
            if member.size:
                write = os.write
                update = digest.update
                for view in reader.body():
                    update(view)
                    while view:
                        view = view[write(fd, view):]
            hints = self._hints
            if hints is None:
                self._metadata(member, fd)
                return
            fast = (self._fast_metadata and member.uid == self._euid and member.gid == self._egid
                    and not mode & self._fixed_by_chmod)
            if fast:
                self._xattrs_and_times(member, fd)
            else:
                self._metadata(member, fd)
            # Taken after the times are set: any later change moves ctime, voiding the hint.
            st = os.fstat(fd)
            if fast and (st.st_mode & 0o7777 != mode or st.st_uid != member.uid
                         or st.st_gid != member.gid):  # a setgid parent, a default ACL...
                self._metadata(member, fd)
                st = os.fstat(fd)
            record_hint(hints, target[:target.rfind("/") + 1], st, pack_stat(st), digest.digest(),
                        no_xattrs=read_xattrs(fd) == ())
        finally:
            os.close(fd)

    def _hardlink(self, member: TarEntry, host: str, target: str) -> None:
        link_rel = split_entry_name(member.linkname, member.name, self._escape)
        source = self._paths.resolve(link_rel, member.name, create=False)
        if source is IGNORED:
            log.debug("hardlink %r to ignored %r skipped", member.name, member.linkname)
            return
        if not isinstance(source, str) or not os.path.lexists(self._paths.host(source)):
            raise LayerFormatError(
                f"hardlink {quoted(member.name)} points to {quoted(member.linkname)}, which does not exist"
            )
        if source == target:
            return
        self._clear(host, target)
        os.link(self._paths.host(source), host, follow_symlinks=False)
        self._dir_times.pop(host, None)

    def _device(self, member: TarEntry, host: str) -> bool:
        kind = stat.S_IFCHR if member.ischr() else stat.S_IFBLK
        try:
            os.mknod(host, kind | 0o600, os.makedev(member.devmajor, member.devminor))
        except PermissionError as e:
            log.debug("device %r not created: %s", member.name, e)
            return False
        self._metadata(member, host)
        return True

    # --- whiteouts ------------------------------------------------------------------------

    def _whiteout(self, parent_rel: str, base: str, entry: str) -> None:
        parent = self._paths.resolve_dir(parent_rel, entry, create=False)
        if parent is None or parent is IGNORED:
            return  # nothing there to hide
        assert isinstance(parent, str)
        if base == OPAQUE_WHITEOUT:
            self._opaque(parent)
            return
        name = base[len(WHITEOUT_PREFIX) :]
        if not name or name.startswith(WHITEOUT_PREFIX) or name in (".", ".."):
            return  # aufs bookkeeping (.wh..wh.plnk and the like) or nonsense: nothing to do
        if name in self._written_names(parent):
            return  # a whiteout hides lower layers only, never this layer's own entries
        target = f"{parent}/{name}" if parent else name
        if self._ignore.ignores(target):
            return
        self._remove(self._paths.host(target), target, missing_ok=True)

    def _opaque(self, parent: str) -> None:
        """Remove everything below ``parent`` that this layer did not write."""
        keep = self._written_names(parent)
        host_dir = self._paths.host(parent)
        try:
            names = os.listdir(host_dir)
        except FileNotFoundError:
            return
        for name in names:
            rel = f"{parent}/{name}" if parent else name
            if self._ignore.ignores(rel):
                continue
            host = host_dir + "/" + name
            if name not in keep:
                self._remove(host, rel, missing_ok=True)
            elif os.path.isdir(host) and not os.path.islink(host):
                self._opaque(rel)

    # --- helpers --------------------------------------------------------------------------

    def _clear(self, host: str, rel: str) -> None:
        """Make room for a new non-directory at ``host``: whatever is there goes."""
        self._remove(host, rel, missing_ok=True)

    def _remove(self, host: str, rel: str | None, *, missing_ok: bool = False) -> None:
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            if missing_ok:
                return
            raise
        if not stat.S_ISDIR(st.st_mode):
            os.unlink(host)
            if stat.S_ISLNK(st.st_mode):
                self._paths.invalidate()
            return
        self._paths.invalidate()
        if rel is not None and self._ignore.has_ignored_below(rel):
            self._remove_around_ignored(host, rel)
        else:
            shutil.rmtree(host)

    def _remove_around_ignored(self, host: str, rel: str) -> None:
        """Remove a tree except ignored paths below it (say a mounted /etc/hosts in /etc)."""
        for name in os.listdir(host):
            child = f"{rel}/{name}"
            if not self._ignore.ignores(child):
                self._remove(host + "/" + name, child, missing_ok=True)
        try:
            os.rmdir(host)
        except OSError as e:
            if e.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise

    def _mark_written(self, rel: str) -> None:
        """``rel`` is in its directory's names, and each of its directories in its parent's."""
        leaf = True
        while rel:
            if not leaf:
                if rel in self._marked:
                    return  # its ancestors were marked with it
                self._marked.add(rel)
            cut = rel.rfind("/")
            parent, name = (rel[:cut], rel[cut + 1 :]) if cut != -1 else ("", rel)
            names = self._written.get(parent)
            if names is None:
                names = self._written[parent] = bytearray()
            if isinstance(names, set):
                names.add(name)
            else:
                names += name.encode("utf-8", "surrogateescape") + b"\0"
            leaf = False
            rel = parent

    def _written_names(self, parent: str) -> set[str]:
        """The names written below ``parent`` by this layer, as a set from now on."""
        names = self._written.get(parent)
        if names is None:
            return set()
        if isinstance(names, bytearray):
            names = set(names.decode("utf-8", "surrogateescape").split("\0"))
            names.discard("")
            self._written[parent] = names
        return names

    def _metadata(
        self,
        member: TarEntry,
        target: str | int,
        *,
        symlink: bool = False,
        defer_times: bool = False,
    ) -> None:
        """Owner, then mode (chown clears setuid/setgid), then xattrs (chown clears file
        capabilities), then times."""
        if isinstance(target, int):
            os.fchown(target, member.uid, member.gid)
            os.fchmod(target, member.mode & 0o7777)
        else:
            os.chown(target, member.uid, member.gid, follow_symlinks=False)
            if not symlink:
                os.chmod(target, member.mode & 0o7777)
        self._xattrs_and_times(member, target, defer_times=defer_times)

    def _xattrs_and_times(self, member: TarEntry, target: str | int, *,
                          defer_times: bool = False) -> None:
        for name, value in member.xattrs.items():
            if name not in SKIPPED_XATTRS:
                write_xattr(target, name, value)
        ns = member.mtime_ns
        if defer_times:
            assert isinstance(target, str)
            self._dir_times[target] = ns
        elif isinstance(target, int):
            os.utime(target, ns=(ns, ns))
        else:
            os.utime(target, ns=(ns, ns), follow_symlinks=False)

    def finish(self) -> None:
        """Directory times last: creating children moved them while the layer was applied."""
        for host, ns in self._dir_times.items():
            try:
                os.utime(host, ns=(ns, ns), follow_symlinks=False)
            except FileNotFoundError:
                pass
        self._dir_times.clear()


def _current_umask() -> int | None:
    """The process umask, read without setting it (os.umask would race other threads)."""
    try:
        with open("/proc/self/status", "rb") as status:
            for line in status:
                if line.startswith(b"Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    return None
