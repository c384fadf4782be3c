"""Docker's COPY/ADD placement rules and the file copy itself, shared by copy.py and add.py."""

from __future__ import annotations

import os
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path

from executor.contexts.files import ContextSource
from executor.dockerfile import Chmod
from executor.errors import BuildError
from executor.rootfs.paths import image_path, make_directories, resolve_in_root
from executor.rootfs.users import Identity
from snapshot.xattrs import read_xattrs, write_xattr


@dataclass(frozen=True)
class CopyOwnership:
    identity: Identity | None  # None: root for context files, the source's owner for --from
    chmod: Chmod | None  # octal, or symbolic: applied to each entry's own mode (BuildKit 1.14+)
    keep_source_owner: bool = False  # COPY --from without --chown keeps uid/gid (BuildKit, buildah)

    def owner_of(self, st: os.stat_result) -> tuple[int, int]:
        if self.identity is None and self.keep_source_owner:
            return st.st_uid, st.st_gid
        return self.uid, self.gid

    @property
    def uid(self) -> int:
        return self.identity.uid if self.identity else 0

    @property
    def gid(self) -> int:
        return self.identity.gid if self.identity else 0


def destination(workdir: str, dest: str, source_count: int) -> tuple[str, bool]:
    """The absolute image destination and whether it names a directory (trailing slash)."""
    path = image_path(workdir, dest)
    is_dir = dest.endswith("/") or dest in (".", "..") or dest.endswith("/.")
    if source_count > 1 and not is_dir:
        raise ValueError("when using COPY with more than one source file, the destination must be "
                         "a directory and end with a /")
    return path.rstrip("/") or "/", is_dir


def _apply_metadata(path: Path, source: str, st: os.stat_result, owner: CopyOwnership, *,
                    is_dir: bool) -> None:
    """Owner, mode, xattrs and times of ``source`` (already resolved if a symlink was followed)."""
    os.chown(path, *owner.owner_of(st), follow_symlinks=False)
    if not stat.S_ISLNK(st.st_mode):
        mode = stat.S_IMODE(st.st_mode)
        if owner.chmod is not None:
            mode = owner.chmod.mode_for(mode, is_dir=is_dir)
        os.chmod(path, mode)
    # xattrs after chown, which drops security.capability (BuildKit's copy keeps them too)
    for name, value in read_xattrs(source) or ():
        write_xattr(str(path), name, value)
    if not is_dir:
        os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns), follow_symlinks=False)


def _replace(target: Path, want_dir: bool) -> bool:
    """Clear ``target`` for a new entry; True when an existing directory is kept as it is."""
    if target.is_symlink() or (target.exists() and not target.is_dir()):
        target.unlink()
        return False
    if target.is_dir():
        if want_dir:
            return True
        raise BuildError(f"cannot overwrite directory {target} with a non-directory")
    return False


class CopyEngine:
    """Copies context entries into the root with Docker's rules; hardlinks inside one copy are kept."""

    def __init__(self, root: Path, owner: CopyOwnership) -> None:
        self.root = root
        self.owner = owner
        self._links: dict[tuple[int, int], Path] = {}
        self._directory_times: list[tuple[Path, os.stat_result]] = []

    def parents(self, image_dir: str) -> Path:
        """Create missing parent directories, owned as the copied files are (BuildKit's rule)."""
        return make_directories(self.root, image_dir, uid=self.owner.uid, gid=self.owner.gid)

    def copy_entry(self, source: Path, target: Path, *, follow: bool = False) -> None:
        st = source.stat() if follow else source.lstat()
        # the file whose metadata is copied: a followed symlink's target, with its xattrs
        metadata_source = os.path.realpath(source) if follow else str(source)
        if stat.S_ISDIR(st.st_mode):
            kept = _replace(target, want_dir=True)
            if not kept:
                target.mkdir()
                _apply_metadata(target, metadata_source, st, self.owner, is_dir=True)
                self._directory_times.append((target, st))
            return
        _replace(target, want_dir=False)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(source), target)
        elif stat.S_ISREG(st.st_mode):
            key = (st.st_dev, st.st_ino)
            first = self._links.get(key) if st.st_nlink > 1 else None
            if first is not None:
                os.link(first, target)
                return
            shutil.copyfile(source, target, follow_symlinks=True)
            if st.st_nlink > 1:
                self._links[key] = target
        elif stat.S_ISFIFO(st.st_mode):
            os.mkfifo(target)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            os.mknod(target, st.st_mode, st.st_rdev)
        else:
            return  # sockets are never copied
        _apply_metadata(target, metadata_source, st, self.owner, is_dir=False)

    def copy_tree_contents(self, children: list[ContextSource], source_root: ContextSource,
                           target_dir: Path) -> None:
        for child in children:
            target = target_dir / os.path.relpath(child.path, source_root.path)
            if not target.parent.exists():
                target.parent.mkdir(parents=True)
            self.copy_entry(child.path, target)

    def finish(self) -> None:
        """Directory mtimes last: creating their children moved them."""
        for path, st in reversed(self._directory_times):
            os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))


def target_for_file(root: Path, dest: str, dest_is_dir: bool, name: str) -> tuple[str, Path]:
    """Where one file source lands: inside ``dest`` if it is (or names) a directory."""
    existing = resolve_in_root(root, dest)
    if dest_is_dir or existing.is_dir():
        image_target = dest.rstrip("/") + "/" + name
        return image_target, resolve_in_root(root, image_target, follow_final=False)
    return dest, resolve_in_root(root, dest, follow_final=False)
