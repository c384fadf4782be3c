"""inotify tells the snapshot which directories to list again; when it cannot, everything is."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from snapshot import IgnoreList, Snapshotter
from snapshot.watch import DirectoryWatcher

from .helpers import write

NO_IGNORE = IgnoreList()


@pytest.fixture
def watcher() -> Iterator[DirectoryWatcher]:
    w = DirectoryWatcher()
    if not w.available:
        pytest.skip("no inotify here")
    yield w
    w.close()


def _watch(watcher: DirectoryWatcher, path: Path, prefix: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        watcher.watch(fd, prefix)
    finally:
        os.close(fd)


def test_an_event_makes_the_directory_and_its_parent_dirty(tmp_path: Path, watcher: DirectoryWatcher) -> None:
    for d in ("a/b", "a/c", "d"):
        (tmp_path / d).mkdir(parents=True)
    write(tmp_path / "a/b/file", "x")
    for prefix in ("", "a/", "a/b/", "a/c/", "d/"):
        _watch(watcher, tmp_path / prefix, prefix)
    assert watcher.collect()
    assert all(watcher.clean(p) for p in ("", "a/", "a/b/", "a/c/", "d/"))
    with open(tmp_path / "a/b/file", "a") as f:  # content only: the directory itself is untouched
        f.write("y")
    assert watcher.collect()
    assert not watcher.clean("a/b/") and not watcher.clean("a/")  # a/'s entry for b may have moved
    assert watcher.clean("") and watcher.clean("a/c/") and watcher.clean("d/")
    _watch(watcher, tmp_path / "a/b", "a/b/")  # listed again, watched again
    assert watcher.collect() and watcher.clean("a/b/")


@pytest.mark.parametrize("change", ["chmod", "utime", "xattr", "create", "delete", "rename", "mmap"])
def test_every_kind_of_change_is_an_event(tmp_path: Path, watcher: DirectoryWatcher, change: str) -> None:
    (tmp_path / "d").mkdir()
    target = write(tmp_path / "d/file", "content")
    _watch(watcher, tmp_path / "d", "d/")
    assert watcher.collect() and watcher.clean("d/")
    if change == "chmod":
        os.chmod(target, 0o600)
    elif change == "utime":
        os.utime(target, ns=(0, 0))
    elif change == "xattr":
        try:
            os.setxattr(target, "user.note", b"x")
        except OSError:
            pytest.skip("no user xattrs here")
    elif change == "create":
        write(tmp_path / "d/new", "")
    elif change == "delete":
        target.unlink()
    elif change == "rename":
        target.rename(tmp_path / "d/renamed")
    else:
        # A write through a shared mapping makes no IN_MODIFY; closing the file makes IN_CLOSE_WRITE.
        subprocess.run(["python3", "-c", "import mmap, sys\n"
                        "with open(sys.argv[1], 'r+b') as f, mmap.mmap(f.fileno(), 0) as m: m[0:1] = b'C'",
                        str(target)], check=True)
    assert watcher.collect()
    assert not watcher.clean("d/"), change


def test_one_shot_watches_keep_the_queue_short(tmp_path: Path, watcher: DirectoryWatcher) -> None:
    (tmp_path / "d").mkdir()
    _watch(watcher, tmp_path / "d", "d/")
    for i in range(10_000):  # each two events or more: past the kernel's queue (16,384)
        fd = os.open(tmp_path / f"d/f{i % 10}", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.write(fd, b"x")
        os.close(fd)
    assert watcher.collect()  # no overflow: the watch ended with the first event
    assert not watcher.clean("d/")


def test_snapshot_lists_only_what_a_change_touched(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for d in range(20):
        for s in range(10):
            write(root / f"d{d}/s{s}/f", f"{d}-{s}")
    snap = Snapshotter(root, NO_IGNORE)
    snap.take()
    assert snap.listed == 1 + 20 + 200
    assert not snap.take() and snap.listed == 0
    write(root / "d3/s4/f", "changed")
    assert snap.take().changed == ["d3/s4/f"]
    assert snap.listed == 2  # d3/s4 and its parent d3 (whose entry for s4 may have moved)
    write(root / "d3/s4/new", "x")
    assert snap.take().changed == ["d3/s4", "d3/s4/new"]
    assert snap.listed == 2


def test_a_seeded_or_unwatched_snapshot_lists_everything(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for d in range(5):
        write(root / f"d{d}/f", "x")
    snap = Snapshotter(root, NO_IGNORE)
    snap.take()
    other = Snapshotter(root, NO_IGNORE)
    other.take()
    snap.seed(other.index)  # another snapshot's index: the watches describe a different one
    assert not snap.take() and snap.listed == 6
    assert not snap.take() and snap.listed == 0
    unwatched = Snapshotter(root, NO_IGNORE, watch=False)
    unwatched.take()
    assert not unwatched.take() and unwatched.listed == 6


@pytest.mark.slow
def test_overflow_lists_everything_again(tmp_path: Path) -> None:
    root = tmp_path / "root"
    for d in range(9_000):  # two events (the change, then the watch's end) each: past 16,384
        (root / f"d{d}").mkdir(parents=True)
    write(root / "untouched/f", "x")
    snap = Snapshotter(root, NO_IGNORE)
    snap.take()
    for d in range(9_000):
        write(root / f"d{d}/f", "x")
    changes = snap.take()
    assert len(changes.changed) == 18_000  # each directory (its mtime) and its new file
    assert snap.listed == 9_002  # "untouched/" too: the lost events could have been its
    write(root / "d5/f", "again")
    assert snap.take().changed == ["d5/f"] and snap.listed == 2


@pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root")
def test_a_directory_under_two_names_is_always_listed(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "a/file", "x")
    (root / "b").mkdir()
    if subprocess.run(["mount", "--bind", str(root / "a"), str(root / "b")], capture_output=True).returncode:
        pytest.skip("cannot bind-mount here")
    try:
        snap = Snapshotter(root, NO_IGNORE)
        snap.take()
        snap.take()  # the second listing of the shared directory finds it watched under both names
        write(root / "b/file", "through b")
        assert snap.take().changed == ["a/file", "b/file"]
        write(root / "a/file", "through a")
        assert snap.take().changed == ["a/file", "b/file"]
    finally:
        subprocess.run(["umount", str(root / "b")], check=True)


def test_watches_stop_at_lamina_share_of_the_budget(tmp_path: Path) -> None:
    # Watches are the node's (root in a container is root of the node): beyond lamina's share a
    # directory is not watched, so it is never clean and is simply listed every time.
    limited = DirectoryWatcher(limit=2)
    if not limited.available:
        pytest.skip("no inotify here")
    try:
        for name in ("a", "b", "c"):
            (tmp_path / name).mkdir()
            _watch(limited, tmp_path / name, f"{name}/")
        assert limited.collect()
        assert len(limited) == 2 and limited.clean("a/") and limited.clean("b/") and not limited.clean("c/")
        (tmp_path / "a" / "new").write_text("x")  # a's one-shot watch fires and is gone
        assert limited.collect() and not limited.clean("a/")
        _watch(limited, tmp_path / "c", "c/")  # its slot is free again
        assert limited.collect() and limited.clean("c/")
    finally:
        limited.close()
    with open("/proc/sys/fs/inotify/max_user_watches") as budget:
        assert DirectoryWatcher()._limit == int(budget.read()) // 4
