"""The per-directory index and the watched, incremental take find exactly what the per-path take
found: a small reference snapshotter (the old algorithm, one dict entry per path, every path
lstat'ed on every take) runs beside a watched and an unwatched Snapshotter through a series of
changes of every kind, and all three must agree on the changes and on every path's state."""

from __future__ import annotations

import mmap
import os
import shutil
import stat
from collections.abc import Callable
from pathlib import Path

import pytest
import xxhash

from snapshot import EntryState, IgnoreList, SnapshotIndex, Snapshotter
from snapshot.index import pack_stat
from snapshot.xattrs import read_xattrs

from .helpers import write, xattrs_supported

IGNORE = IgnoreList.of("proc", "etc/hosts")


class ReferenceSnapshotter:
    """What lamina's snapshotter did before the index was packed per directory, kept short."""

    def __init__(self, root: Path, ignore: IgnoreList) -> None:
        self.root = root
        self.ignore = ignore
        self.index: dict[str, EntryState] = {}

    def take(self) -> tuple[list[str], list[str]]:
        new: dict[str, EntryState] = {}
        changed: list[str] = []
        stack = [""]
        while stack:
            prefix = stack.pop()
            try:
                entries = list(os.scandir(self.root / prefix if prefix else self.root))
            except (FileNotFoundError, NotADirectoryError):
                continue
            for entry in entries:
                rel = prefix + entry.name
                if self.ignore.is_listed(rel):
                    continue
                st = entry.stat(follow_symlinks=False)
                prev = self.index.get(rel)
                if prev is not None and prev.same_stat(st):
                    new[rel] = prev
                else:
                    new[rel] = state = self._state(self.root / rel, st)
                    if prev is None or not prev.same_layer_content(state):
                        changed.append(rel)
                if stat.S_ISDIR(st.st_mode):
                    stack.append(rel + "/")
        deleted = []
        for rel in self.index:
            parent = new.get(rel.rpartition("/")[0]) if "/" in rel else None
            if rel not in new and ("/" not in rel or (parent is not None and stat.S_ISDIR(parent.mode))):
                deleted.append(rel)
        self.index = new
        return sorted(changed), sorted(deleted)

    @staticmethod
    def _state(path: Path, st: os.stat_result) -> EntryState:
        digest = linkname = None
        if stat.S_ISREG(st.st_mode):
            digest = xxhash.xxh3_128(path.read_bytes()).digest()
        elif stat.S_ISLNK(st.st_mode):
            linkname = os.readlink(path)
        return EntryState(mode=st.st_mode, uid=st.st_uid, gid=st.st_gid, size=st.st_size,
                          mtime_ns=st.st_mtime_ns, ctime_ns=st.st_ctime_ns, ino=st.st_ino,
                          nlink=st.st_nlink, rdev=st.st_rdev, linkname=linkname, digest=digest,
                          xattrs=read_xattrs(str(path)), dev=st.st_dev)


def _sample_root(root: Path) -> None:
    write(root / "etc/passwd", "root:x:0:0\n")
    write(root / "etc/hosts", "127.0.0.1 localhost\n")
    write(root / "usr/bin/tool", b"\x7fELF" + b"x" * 5000, 0o755)
    write(root / "usr/lib/libfoo.so.1", b"lib" * 100)
    os.symlink("libfoo.so.1", root / "usr/lib/libfoo.so")
    os.link(root / "usr/bin/tool", root / "usr/lib/tool-hard")
    for d in range(3):
        for f in range(20):
            write(root / f"var/data/d{d}/f{f}", f"{d}-{f}")
    write(root / "proc/1/status", "x")
    os.mkfifo(root / "var/fifo")


def _same_size_rewrite(path: Path, data: bytes) -> None:
    before = os.stat(path)
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def _mmap_write(path: Path) -> None:
    with open(path, "r+b") as f, mmap.mmap(f.fileno(), 0) as m:
        m[0:1] = b"M"


def _tree_replaced_by_copy(root: Path) -> None:
    """A directory moved out of the root and an exact copy put in its place, then a file two
    levels down changed: the copy's subdirectories are other inodes under the old names, while
    the watches on the originals, moved along with their parent, saw nothing."""
    outside = root.parent / "moved-out"
    os.rename(root / "var/data", outside)
    shutil.copytree(outside, root / "var/data", symlinks=True)
    _same_size_rewrite(root / "var/data/d1/f3", b"X-3")


CHANGES: list[tuple[str, Callable[[Path], object]]] = [
    ("nothing", lambda r: None),
    ("add a file", lambda r: write(r / "etc/new", "new")),
    ("add a tree", lambda r: [write(r / f"opt/app/lib/m{i}.py", str(i)) for i in range(5)]),
    ("append to a file", lambda r: open(r / "usr/bin/tool", "ab").write(b"more")),
    ("same-size rewrite, mtime put back", lambda r: _same_size_rewrite(r / "var/data/d0/f1", b"X-1")),
    ("write through a shared mapping", lambda r: _mmap_write(r / "var/data/d2/f5")),
    ("chmod only", lambda r: os.chmod(r / "var/data/d0/f2", 0o600)),
    ("chown only", lambda r: os.chown(r / "var/data/d0/f3", 1000, 1000)),
    ("chmod to the same mode (ctime only)", lambda r: os.chmod(r / "etc/passwd", 0o644)),
    ("touch (mtime only)", lambda r: os.utime(r / "var/data/d2/f1", ns=(0, 1_000_000_000))),
    ("chmod a directory", lambda r: os.chmod(r / "var/data/d2", 0o700)),
    ("delete a file", lambda r: os.unlink(r / "var/data/d0/f4")),
    ("delete a tree", lambda r: shutil.rmtree(r / "opt/app")),
    ("rename a file", lambda r: os.rename(r / "var/data/d0/f5", r / "var/data/d0/f5-renamed")),
    ("rename a directory", lambda r: os.rename(r / "var/data/d2", r / "var/data/d2-renamed")),
    ("directory replaced by a file", lambda r: (shutil.rmtree(r / "var/data/d0"),
                                               write(r / "var/data/d0", "now a file"))),
    ("file replaced by a directory", lambda r: (os.unlink(r / "usr/lib/libfoo.so.1"),
                                               write(r / "usr/lib/libfoo.so.1/inner", "x"))),
    ("retarget a symlink", lambda r: (os.unlink(r / "usr/lib/libfoo.so"),
                                     os.symlink("/etc/passwd", r / "usr/lib/libfoo.so"))),
    ("new hardlink to an unchanged file", lambda r: os.link(r / "etc/passwd", r / "var/passwd-hard")),
    ("write through the other name of a hardlink", lambda r: _same_size_rewrite(
        r / "usr/lib/tool-hard", b"\x7fELF" + b"y" * 5000)),
    ("remove one name of a hardlink", lambda r: os.unlink(r / "var/passwd-hard")),
    ("directory replaced by an exact copy, then changed below", _tree_replaced_by_copy),
    ("ignored paths written", lambda r: (write(r / "proc/2/status", "y"), write(r / "etc/hosts", "z"))),
    ("add a fifo", lambda r: os.mkfifo(r / "etc/fifo2")),
]


def _xattr_changes() -> list[tuple[str, Callable[[Path], object]]]:
    return [
        ("set an xattr", lambda r: os.setxattr(r / "etc/passwd", "user.note", b"hello")),
        ("change an xattr", lambda r: os.setxattr(r / "etc/passwd", "user.note", b"HELLO")),
        ("remove an xattr", lambda r: os.removexattr(r / "etc/passwd", "user.note")),
    ]


def _states(index: SnapshotIndex) -> dict[str, EntryState]:
    return dict(index.items())


@pytest.mark.parametrize("mode", ["full", "redo"])
def test_watched_unwatched_and_reference_agree_on_every_kind_of_change(tmp_path: Path, mode: str) -> None:
    root = tmp_path / "root"
    _sample_root(root)
    changes = list(CHANGES)
    if xattrs_supported(root):
        changes += _xattr_changes()
    watched = Snapshotter(root, IGNORE, mode=mode)
    unwatched = Snapshotter(root, IGNORE, mode=mode, watch=False)
    reference = ReferenceSnapshotter(root, IGNORE)
    first = watched.take()
    assert (list(first.changed), list(first.deleted)) == reference.take()
    unwatched.take()
    listed: dict[str, tuple[int, int]] = {}
    for what, change in changes:
        change(root)
        found = watched.take()
        found_again = unwatched.take()
        listed[what] = (watched.listed, unwatched.listed)
        assert unwatched.listed == len(unwatched.index._dirs), what
        expected_changed, expected_deleted = reference.take()
        if mode == "full":
            assert (list(found.changed), list(found.deleted)) == (expected_changed, expected_deleted), what
            assert _states(watched.index) == reference.index, what
        assert (found.changed, found.deleted) == (found_again.changed, found_again.deleted), what
        assert _states(watched.index) == _states(unwatched.index), what
        assert len(watched.index) == len(reference.index), what
    # The watched snapshotter listed only the directories changes touched, their parents, and
    # those holding hardlinked files, which it always lists: usr/bin and usr/lib.
    assert listed["nothing"][0] == 2 and listed["add a file"][0] == 4, listed  # + etc, the root
    assert sum(w for w, _ in listed.values()) * 2 < sum(u for _, u in listed.values()), listed


def test_index_round_trips_entry_states(tmp_path: Path) -> None:
    root = tmp_path / "root"
    _sample_root(root)
    snap = Snapshotter(root, IGNORE, watch=False)
    snap.take()
    states = _states(snap.index)
    rebuilt = SnapshotIndex(states)
    assert _states(rebuilt) == states and len(rebuilt) == len(states)
    assert set(rebuilt) == set(states)
    assert "etc/passwd" in rebuilt and "etc/nothing" not in rebuilt and "proc" not in rebuilt
    assert rebuilt["usr/lib/libfoo.so"].linkname == "libfoo.so.1"
    assert rebuilt["usr/bin/tool"].digest == xxhash.xxh3_128((root / "usr/bin/tool").read_bytes()).digest()
    assert sorted(rel for rel, _, _ in rebuilt.hardlinked()) == ["usr/bin/tool", "usr/lib/tool-hard"]
    assert rebuilt["etc/passwd"].same_stat(os.lstat(root / "etc/passwd"))
    assert SnapshotIndex(states)["var/fifo"] == states["var/fifo"]
    seeded = Snapshotter(root, IGNORE, index=rebuilt)
    assert not seeded.take()  # a rebuilt index is as good a baseline as the one taken
    assert pack_stat(os.lstat(root / "etc/passwd")) == pack_stat(os.lstat(root / "etc/passwd"))
