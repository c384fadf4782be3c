"""Snapshot modes (full, redo, time) and the fast paths: digests recorded while extracting seed the
baseline, and every kind of change made after that is still found."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

import pytest

from snapshot import IgnoreList, Snapshotter, extract_layer
from snapshot.snapshotter import DigestHints

from .helpers import tar_bytes, write, xattrs_supported
from .test_snapshotter import CountingDigester

NO_IGNORE = IgnoreList()


def _layer() -> bytes:
    def reg(name: str, body: bytes, mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
        info = tarfile.TarInfo(name)
        info.mode, info.mtime = mode, 1_600_000_000
        return info, body

    def directory(name: str) -> tuple[tarfile.TarInfo, None]:
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_600_000_000
        return info, None

    link = tarfile.TarInfo("etc/passwd-hard")
    link.type, link.linkname, link.mtime = tarfile.LNKTYPE, "etc/passwd", 1_600_000_000
    return tar_bytes(directory("etc"), reg("etc/passwd", b"root:x:0:0\n"),
                     reg("etc/group", b"root:x:0:\n"), reg("usr/bin/tool", b"\x7fELF" + b"x" * 70_000, 0o755),
                     reg("data/a", b"aaaa"), reg("data/b", b"bbbb"), (link, None))


@pytest.fixture
def extracted(tmp_path: Path) -> tuple[Path, DigestHints]:
    root = tmp_path / "root"
    root.mkdir()
    hints: DigestHints = {}
    extract_layer(io.BytesIO(_layer()), root, NO_IGNORE, hints=hints)
    return root, hints


def seeded(root: Path, hints: DigestHints, digester: CountingDigester | None = None) -> Snapshotter:
    snap = Snapshotter(root, NO_IGNORE, digest_file=digester)
    snap.take(hints=hints)
    return snap


def test_baseline_from_extraction_reads_no_file_and_matches_a_hashed_baseline(
        extracted: tuple[Path, DigestHints]) -> None:
    root, hints = extracted
    counting = CountingDigester()
    fast = seeded(root, hints, counting)
    # Linking moved the hardlinked file's ctime after it was written: only it is read back.
    assert set(counting.read) <= {str(root / "etc/passwd"), str(root / "etc/passwd-hard")}
    assert counting.read
    slow = Snapshotter(root, NO_IGNORE)
    slow.take()
    assert dict(fast.index.items()) == dict(slow.index.items())


def test_same_size_rewrite_with_mtime_restored_is_found_after_a_seeded_baseline(
        extracted: tuple[Path, DigestHints]) -> None:
    root, hints = extracted
    snap = seeded(root, hints)
    path = root / "data/a"
    before = os.stat(path)
    path.write_bytes(b"AAAA")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert snap.take().changed == ["data/a"]


def test_stale_hint_is_not_trusted(extracted: tuple[Path, DigestHints]) -> None:
    """A file rewritten between extraction and the baseline (same size, mtime put back) gets
    hashed, not given the digest of what the extractor wrote."""
    root, hints = extracted
    path = root / "data/b"
    before = os.stat(path)
    path.write_bytes(b"BBBB")
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    counting = CountingDigester()
    snap = seeded(root, hints, counting)
    assert str(path) in counting.read
    reference = Snapshotter(root, NO_IGNORE)
    reference.take()
    assert snap.index["data/b"].digest == reference.index["data/b"].digest


@pytest.mark.parametrize("change", ["chmod", "chown", "xattr", "hardlink"])
def test_metadata_only_changes_are_found_after_a_seeded_baseline(
        extracted: tuple[Path, DigestHints], change: str) -> None:
    root, hints = extracted
    if change == "xattr" and not xattrs_supported(root):
        pytest.skip("no user xattrs on this filesystem")
    snap = seeded(root, hints)
    target = root / "usr/bin/tool"
    if change == "chmod":
        os.chmod(target, 0o700)
    elif change == "chown":
        os.chown(target, 1000, 1000)
    elif change == "xattr":
        os.setxattr(target, "user.note", b"x")
    else:
        os.link(target, root / "usr/bin/tool-link")
    changes = snap.take()
    # A new link is its own entry (the layer writer adds the unchanged first name as its anchor).
    expected = {"usr/bin", "usr/bin/tool-link"} if change == "hardlink" else {"usr/bin/tool"}
    assert set(changes.changed) == expected


def test_redo_mode_finds_content_mode_and_owner_changes_without_reading(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "a", "1")
    write(root / "b", "2")
    write(root / "c", "3")
    counting = CountingDigester()
    snap = Snapshotter(root, NO_IGNORE, mode="redo", digest_file=counting)
    assert snap.take().changed == ["a", "b", "c"]
    write(root / "a", "11")
    os.chmod(root / "b", 0o600)
    os.chown(root / "c", 1000, 1000)
    assert snap.take().changed == ["a", "b", "c"]
    assert counting.read == []
    os.utime(root / "a")  # mtime only
    assert snap.take().changed == ["a"]
    assert not snap.take()


def test_time_mode_looks_at_mtime_only(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "a", "1")
    write(root / "b", "2")
    snap = Snapshotter(root, NO_IGNORE, mode="time")
    snap.take()
    os.chmod(root / "b", 0o600)  # kaniko's time mode misses this by design
    assert not snap.take()
    st = os.stat(root / "a")
    os.utime(root / "a", ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    os.remove(root / "b")
    changes = snap.take()
    assert changes.changed == ["a"] and changes.deleted == ["b"]


def test_full_mode_ignores_a_touch_that_changes_nothing_a_layer_records(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "a", "1")
    snap = Snapshotter(root, NO_IGNORE)
    snap.take()
    st = os.stat(root / "a")
    os.chmod(root / "a", st.st_mode)  # ctime moves; nothing else does
    assert not snap.take()


def test_unknown_mode_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="snapshot mode"):
        Snapshotter(tmp_path, NO_IGNORE, mode="fast")


def test_seeded_baseline_keeps_the_xattrs_a_layer_set(tmp_path: Path) -> None:
    """The extractor vouches for "no xattrs" only for files that had none once written; one the
    layer gave an xattr still has it in the seeded index, as in a hashed one."""
    root = tmp_path / "root"
    root.mkdir()
    if not xattrs_supported(root):
        pytest.skip("no user xattrs on this filesystem")
    plain, tagged = tarfile.TarInfo("plain"), tarfile.TarInfo("tagged")
    tagged.pax_headers = {"SCHILY.xattr.user.note": "hello"}
    hints: DigestHints = {}
    extract_layer(io.BytesIO(tar_bytes((plain, b"p"), (tagged, b"t"))), root, NO_IGNORE, hints=hints)
    counting = CountingDigester()
    fast = seeded(root, hints, counting)
    assert counting.read == []
    assert fast.index["tagged"].xattrs == (("user.note", b"hello"),) and fast.index["plain"].xattrs == ()
    slow = Snapshotter(root, NO_IGNORE)
    slow.take()
    assert dict(fast.index.items()) == dict(slow.index.items())
