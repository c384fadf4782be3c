from __future__ import annotations

import gzip
import hashlib
import io
import os
import socket
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from snapshot import IgnoreList, Snapshotter

from .helpers import (
    apply_blob,
    describe,
    describe_links,
    make_layer,
    snapshot_layer,
    write,
    xattrs_supported,
)

CAPABILITY = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_raw+ep


def build_tree(root: Path, with_xattrs: bool) -> None:
    write(root / "bin/sh", b"#!" + os.urandom(3 * (1 << 20) + 17), 0o755)  # > 1 MiB chunk
    write(root / "usr/bin/passwd", "setuid", 0o4755)
    write(root / "usr/bin/wall", "setgid", 0o2755)
    os.chown(root / "usr/bin/wall", 0, 5)
    os.chmod(root / "usr/bin/wall", 0o2755)
    (root / "tmp").mkdir()
    os.chmod(root / "tmp", 0o1777)
    write(root / "home/app/.profile", "export A=1\n", 0o600)
    os.chown(root / "home/app/.profile", 1000, 1000)
    os.chown(root / "home/app", 1000, 1000)
    write(root / "empty", b"")
    write(root / "usr/lib/libfoo.so.1", "foo")
    os.symlink("libfoo.so.1", root / "usr/lib/libfoo.so")
    os.symlink("/nonexistent/target", root / "dangling")
    os.symlink("usr/lib", root / "lib")
    os.link(root / "usr/lib/libfoo.so.1", root / "usr/lib/hard-a")
    os.link(root / "usr/lib/libfoo.so.1", root / "bin/hard-b")
    os.mknod(root / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.chmod(root / "null", 0o666)  # past the umask
    os.mknod(root / "loop0", stat.S_IFBLK | 0o660, os.makedev(7, 0))
    os.mkfifo(root / "fifo", 0o640)
    write(root / "dir with space/ünïcode-名前", "utf8 name")
    write(root / ("long/" + "n" * 120 + "/" + "m" * 120), "long name")
    (root / "deep/empty/dir").mkdir(parents=True)
    os.chmod(root / "deep/empty", 0o700)
    if with_xattrs:
        os.setxattr(root / "usr/bin/passwd", "user.comment", b"plain")
        os.setxattr(root / "usr/bin/passwd", "user.binary", b"\xff\x00\n\x80")
        os.setxattr(root / "bin/sh", "security.capability", CAPABILITY)
        os.setxattr(root / "tmp", "user.dir", b"on a directory")
    os.utime(root / "usr/lib/libfoo.so.1", (1_500_000_000, 1_500_000_000))
    os.utime(root / "dangling", (1_400_000_000, 1_400_000_000), follow_symlinks=False)
    os.utime(root / "deep/empty", (1_300_000_000, 1_300_000_000))


@pytest.fixture
def tree(tmp_path: Path) -> tuple[Path, bool]:
    root = tmp_path / "src"
    root.mkdir()
    xattrs = xattrs_supported(root)
    build_tree(root, xattrs)
    return root, xattrs


def test_everything_round_trips(tmp_path: Path, tree: tuple[Path, bool]) -> None:
    root, xattrs = tree
    blob, info, changes = snapshot_layer(Snapshotter(root, IgnoreList()))
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_blob(blob, dest)

    assert describe(dest) == describe(root)
    assert describe_links(dest) == describe_links(root) == {
        frozenset({"usr/lib/libfoo.so.1", "usr/lib/hard-a", "bin/hard-b"})
    }
    if xattrs:
        assert os.getxattr(dest / "usr/bin/passwd", "user.binary") == b"\xff\x00\n\x80"
        assert os.getxattr(dest / "bin/sh", "security.capability") == CAPABILITY
    assert stat.S_IMODE(os.stat(dest / "usr/bin/passwd").st_mode) == 0o4755
    assert os.lstat(dest / "dangling").st_mtime == 1_400_000_000
    assert os.stat(dest / "deep/empty").st_mtime == 1_300_000_000


def test_digests_sizes_and_an_independent_reader(tmp_path: Path, tree: tuple[Path, bool]) -> None:
    root, _ = tree
    blob, info, changes = snapshot_layer(Snapshotter(root, IgnoreList()))
    layer = tmp_path / "layer.tar.gz"
    layer.write_bytes(blob)
    tar = gzip.decompress(blob)
    assert info.digest == "sha256:" + hashlib.sha256(blob).hexdigest()
    assert info.diff_id == "sha256:" + hashlib.sha256(tar).hexdigest()
    assert info.size == len(blob) and info.uncompressed_size == len(tar)

    listing = subprocess.run(
        ["tar", "--numeric-owner", "-tvzf", str(layer)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    names = subprocess.run(
        ["tar", "-tzf", str(layer)], check=True, capture_output=True, text=True
    ).stdout.splitlines()
    expected = sorted(changes.changed)
    assert [n.rstrip("/") for n in names] == expected
    assert "tmp/" in names and "usr/lib/" in names  # directories as tarfile writes them
    by_name = dict(zip(expected, listing))
    assert by_name["usr/bin/passwd"].startswith("-rwsr-xr-x 0/0 ")
    assert by_name["tmp"].startswith("drwxrwxrwt 0/0 ")
    assert by_name["home/app/.profile"].startswith("-rw------- 1000/1000 ")
    assert by_name["null"].startswith("crw-rw-rw- 0/0 ") and "1,3" in by_name["null"]
    assert by_name["fifo"].startswith("prw-r----- ")
    assert "usr/lib/libfoo.so -> libfoo.so.1" in by_name["usr/lib/libfoo.so"]
    # bin/hard-b sorts first, so it carries the content and the others link to it
    assert by_name["bin/hard-b"].startswith("-rw-r--r-- ")
    assert "usr/lib/hard-a link to bin/hard-b" in by_name["usr/lib/hard-a"]
    assert "link to bin/hard-b" in by_name["usr/lib/libfoo.so.1"]

    with tarfile.open(fileobj=io.BytesIO(tar)) as t:
        for m in t.getmembers():
            assert m.uname == "" and m.gname == ""
            if m.isdir():
                assert not m.name.endswith("/")  # tarfile strips it on read; GNU tar saw it


def test_output_is_deterministic_and_uncompressed_mode(
    tmp_path: Path, tree: tuple[Path, bool]
) -> None:
    root, _ = tree
    snap = Snapshotter(root, IgnoreList())
    changes = snap.take()
    a, info_a = make_layer(root, changes, snap.index)
    b, info_b = make_layer(root, changes, snap.index)
    assert a == b and info_a == info_b
    plain, info_plain = make_layer(root, changes, snap.index, compression="none")
    assert info_plain.digest == info_plain.diff_id == info_a.diff_id
    assert plain == gzip.decompress(a) and info_plain.size == len(plain)
    with pytest.raises(ValueError, match="unsupported layer compression"):
        make_layer(root, changes, snap.index, compression="lz4")


def test_incremental_layer_has_parents_and_hardlink_anchor(
    tmp_path: Path, tree: tuple[Path, bool]
) -> None:
    root, _ = tree
    snap = Snapshotter(root, IgnoreList())
    base_blob, _, _ = snapshot_layer(snap)
    os.link(root / "bin/sh", root / "usr/bin/sh-again")
    write(root / "home/app/new/file", "new")
    blob, _, changes = snapshot_layer(snap)
    assert changes.changed == ["home/app", "home/app/new", "home/app/new/file", "usr/bin",
                               "usr/bin/sh-again"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as t:
        members = t.getmembers()
    names = [m.name for m in members]
    assert names == ["bin", "bin/sh", "home", "home/app", "home/app/new", "home/app/new/file",
                     "usr", "usr/bin", "usr/bin/sh-again"]
    by_name = {m.name: m for m in members}
    assert by_name["bin/sh"].isreg() and by_name["usr/bin/sh-again"].islnk()
    assert by_name["usr/bin/sh-again"].linkname == "bin/sh"
    assert by_name["home/app"].uid == 1000

    dest = tmp_path / "dest"
    dest.mkdir()
    apply_blob(base_blob, dest)
    apply_blob(blob, dest)
    assert describe(dest) == describe(root)
    assert os.stat(dest / "bin/sh").st_ino == os.stat(dest / "usr/bin/sh-again").st_ino


def test_file_vanishing_before_write_is_skipped(tmp_path: Path) -> None:
    root = tmp_path / "r"
    write(root / "a", "a")
    write(root / "b", "b")
    snap = Snapshotter(root, IgnoreList())
    changes = snap.take()
    os.unlink(root / "a")
    blob, _ = make_layer(root, changes, snap.index)
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        assert t.getnames() == ["b"]


def test_sockets_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "r"
    root.mkdir()
    write(root / "keep", "k")
    s = socket.socket(socket.AF_UNIX)
    try:
        s.bind(str(root / "sock"))
        blob, _, changes = snapshot_layer(Snapshotter(root, IgnoreList()))
    finally:
        s.close()
    assert "sock" in changes.changed
    with tarfile.open(fileobj=io.BytesIO(blob)) as t:
        assert t.getnames() == ["keep"]


def test_hardlink_anchor_sorting_after_the_changed_path(tmp_path: Path) -> None:
    root = tmp_path / "r"
    write(root / "z/orig", "content")
    snap = Snapshotter(root, IgnoreList())
    base, _, _ = snapshot_layer(snap)
    os.link(root / "z/orig", root / "a-new")
    blob, _, changes = snapshot_layer(snap)
    assert changes.changed == ["a-new"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(blob))) as t:
        members = {m.name: m for m in t.getmembers()}
    assert list(members) == ["a-new", "z", "z/orig"]
    assert members["a-new"].isreg() and members["z/orig"].linkname == "a-new"
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_blob(base, dest)
    apply_blob(blob, dest)
    assert os.stat(dest / "a-new").st_ino == os.stat(dest / "z/orig").st_ino
    assert (dest / "a-new").read_text() == "content"
