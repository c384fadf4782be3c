from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from snapshot import ContentDigester, IgnoreList, Snapshotter

from .helpers import write, xattrs_supported


class CountingDigester:
    """Records which files were read for hashing."""

    def __init__(self) -> None:
        self.read: list[str] = []
        self._inner = ContentDigester()

    def __call__(self, path: str) -> bytes:
        self.read.append(path)
        return self._inner(path)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    r = tmp_path / "root"
    write(r / "etc/passwd", "root:x:0:0\n")
    write(r / "etc/hosts", "127.0.0.1 localhost\n")
    write(r / "usr/bin/tool", b"\x7fELF" + b"x" * 5000, 0o755)
    write(r / "var/lib/data/a", "a")
    write(r / "var/lib/data/sub/b", "b")
    os.symlink("../etc/passwd", r / "usr/passwd-link")
    return r


def baseline(root: Path, **kw) -> Snapshotter:
    snap = Snapshotter(root, IgnoreList.of("proc", "etc/hosts"), **kw)
    first = snap.take()
    assert "etc/passwd" in first.changed and "etc/hosts" not in first.changed
    assert not first.deleted
    return snap


def test_first_take_reports_everything_then_nothing(root: Path) -> None:
    snap = Snapshotter(root, IgnoreList())
    first = snap.take()
    assert first.changed == sorted(first.changed)
    assert set(first.changed) == {
        "etc", "etc/passwd", "etc/hosts", "usr", "usr/bin", "usr/bin/tool", "usr/passwd-link",
        "var", "var/lib", "var/lib/data", "var/lib/data/a", "var/lib/data/sub",
        "var/lib/data/sub/b",
    }
    assert snap.index["usr/passwd-link"].linkname == "../etc/passwd"
    assert snap.index["etc/passwd"].digest is not None and snap.index["etc"].digest is None
    second = snap.take()
    assert not second and second.changed == [] and second.deleted == []


def test_add_modify_delete(root: Path) -> None:
    snap = baseline(root)
    write(root / "etc/new", "new")
    with open(root / "usr/bin/tool", "ab") as f:
        f.write(b"more")
    os.unlink(root / "var/lib/data/a")
    changes = snap.take()
    assert changes.changed == ["etc", "etc/new", "usr/bin/tool", "var/lib/data"]
    assert changes.deleted == ["var/lib/data/a"]


def test_directory_deletion_reports_only_the_directory(root: Path) -> None:
    snap = baseline(root)
    shutil.rmtree(root / "var/lib")
    changes = snap.take()
    assert changes.deleted == ["var/lib"]
    assert changes.changed == ["var"]


def test_directory_replaced_by_file_hides_its_old_children(root: Path) -> None:
    snap = baseline(root)
    shutil.rmtree(root / "var/lib/data")
    write(root / "var/lib/data", "now a file")
    changes = snap.take()
    assert "var/lib/data" in changes.changed
    assert changes.deleted == []


def test_rewrite_with_same_size_and_restored_mtime_is_caught(root: Path) -> None:
    snap = baseline(root)
    path = root / "etc/passwd"
    before = os.stat(path)
    path.write_text("ROOT:x:0:0\n")  # same length
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_size == before.st_size
    assert snap.take().changed == ["etc/passwd"]


def test_chmod_only_and_chown_only(root: Path) -> None:
    snap = baseline(root)
    path = root / "usr/bin/tool"
    mtime = os.stat(path).st_mtime_ns
    os.chmod(path, 0o4755)
    assert snap.take().changed == ["usr/bin/tool"]
    os.chown(path, 1000, 1000)
    assert os.stat(path).st_mtime_ns == mtime
    changes = snap.take()
    assert changes.changed == ["usr/bin/tool"]  # chown also cleared setuid; either way changed
    os.chown(root / "etc/passwd", 0, 42)
    assert snap.take().changed == ["etc/passwd"]


def test_chmod_away_and_back_is_no_change_without_rereading_others(root: Path) -> None:
    digester = CountingDigester()
    snap = baseline(root, digest_file=digester)
    digester.read.clear()
    path = root / "usr/bin/tool"
    os.chmod(path, 0o700)
    os.chmod(path, 0o755)
    assert not snap.take()
    assert digester.read == [str(root / "usr/bin/tool")]  # ctime moved: re-hashed, only it
    digester.read.clear()
    assert not snap.take()
    assert digester.read == []  # nothing moved: nothing read


def test_xattr_only_change(root: Path) -> None:
    if not xattrs_supported(root):
        pytest.skip("filesystem of tmp_path has no user xattrs")
    snap = baseline(root)
    path = root / "etc/passwd"
    os.setxattr(path, "user.note", b"hello")
    assert snap.take().changed == ["etc/passwd"]
    assert snap.index["etc/passwd"].xattrs == (("user.note", b"hello"),)
    os.setxattr(path, "user.note", b"HELLO")
    assert snap.take().changed == ["etc/passwd"]
    os.removexattr(path, "user.note")
    assert snap.take().changed == ["etc/passwd"]


def test_new_hardlink_to_unchanged_file(root: Path) -> None:
    snap = baseline(root)
    os.link(root / "usr/bin/tool", root / "usr/bin/tool2")
    changes = snap.take()
    assert changes.changed == ["usr/bin", "usr/bin/tool2"]
    assert snap.index["usr/bin/tool"].nlink == 2


def test_symlink_retarget_and_type_change(root: Path) -> None:
    snap = baseline(root)
    os.unlink(root / "usr/passwd-link")
    os.symlink("/etc/hosts", root / "usr/passwd-link")
    os.unlink(root / "var/lib/data/sub/b")
    os.mkdir(root / "var/lib/data/sub/b")
    changes = snap.take()
    assert "usr/passwd-link" in changes.changed and "var/lib/data/sub/b" in changes.changed
    assert changes.deleted == []


def test_ignored_paths_are_never_reported(root: Path) -> None:
    snap = baseline(root)
    write(root / "proc/1/status", "x")
    write(root / "etc/hosts", "changed")
    assert not snap.take()  # "proc" itself is ignored, as is everything below it


def test_seeded_snapshotter_continues_from_index(root: Path) -> None:
    first = baseline(root)
    old_index = first.index
    write(root / "etc/new", "x")
    second = Snapshotter(root, first.ignore, index=first.index)
    assert second.take().changed == ["etc", "etc/new"]
    assert "etc/new" not in old_index  # an index handed out is never mutated
    first.seed(second.index)
    assert not first.take()
