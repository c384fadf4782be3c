from __future__ import annotations

import gzip
import io
import os
import shutil
import tarfile
from pathlib import Path

from snapshot import IgnoreList, Snapshotter, extract_layer

from .helpers import apply_blob, describe, entry, snapshot_layer, tar_bytes, write


def build_and_replay(tmp_path: Path, change) -> tuple[Path, Path, tarfile.TarFile]:
    """Layer 1 = a tree, layer 2 = what ``change`` did to it; replay both into a fresh dir."""
    src = tmp_path / "src"
    write(src / "etc/keep", "keep")
    write(src / "etc/gone", "gone")
    write(src / "opt/tree/a/b/c", "deep")
    write(src / "opt/tree/x", "x")
    write(src / "srv/was-file", "file")
    write(src / "srv/was-dir/child", "child")
    snap = Snapshotter(src, IgnoreList())
    layer1, _, _ = snapshot_layer(snap)
    change(src)
    layer2, _, _ = snapshot_layer(snap)
    dest = tmp_path / "dest"
    dest.mkdir()
    apply_blob(layer1, dest)
    apply_blob(layer2, dest)
    return src, dest, tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer2)))


def test_deleting_a_file_and_a_directory(tmp_path: Path) -> None:
    def change(src: Path) -> None:
        os.unlink(src / "etc/gone")
        shutil.rmtree(src / "opt/tree")

    src, dest, layer2 = build_and_replay(tmp_path, change)
    assert layer2.getnames() == ["etc", "etc/.wh.gone", "opt", "opt/.wh.tree"]
    whiteout = layer2.getmember("etc/.wh.gone")
    assert whiteout.isreg() and whiteout.size == 0 and whiteout.mode == 0
    assert not (dest / "etc/gone").exists() and not (dest / "opt/tree").exists()
    assert (dest / "etc/keep").read_text() == "keep"
    assert describe(dest) == describe(src)


def test_directory_replaced_by_file_and_file_by_directory(tmp_path: Path) -> None:
    def change(src: Path) -> None:
        shutil.rmtree(src / "srv/was-dir")
        write(src / "srv/was-dir", "now a file")
        os.unlink(src / "srv/was-file")
        write(src / "srv/was-file/inside", "now a dir")

    src, dest, layer2 = build_and_replay(tmp_path, change)
    assert not any(".wh." in n for n in layer2.getnames())
    assert (dest / "srv/was-dir").read_text() == "now a file"
    assert (dest / "srv/was-file/inside").read_text() == "now a dir"
    assert describe(dest) == describe(src)


def test_opaque_whiteout_keeps_only_this_layers_entries(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "d/old-file", "old")
    write(root / "d/sub/old-nested", "old")
    write(root / "d/sub2/old", "old")
    write(root / "other/stays", "x")
    layer = tar_bytes(
        (entry("d", tarfile.DIRTYPE), None),
        (entry("d/sub", tarfile.DIRTYPE), None),
        (entry("d/sub/new-before"), b"new"),   # written before the opaque marker
        (entry("d/.wh..wh..opq"), b""),
        (entry("d/new-after"), b"new"),        # written after it
    )
    extract_layer(io.BytesIO(layer), root, IgnoreList())
    assert sorted(p.relative_to(root).as_posix() for p in (root / "d").rglob("*")) == [
        "d/new-after", "d/sub", "d/sub/new-before",
    ]
    assert (root / "other/stays").exists()
    assert not (root / "d/.wh..wh..opq").exists()


def test_whiteout_never_removes_ignored_paths_or_this_layers_entries(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "etc/hosts", "mounted")
    write(root / "etc/passwd", "old")
    write(root / "etc/shadow", "old")
    ignore = IgnoreList.of("etc/hosts")
    extract_layer(io.BytesIO(tar_bytes((entry(".wh.etc"), b""))), root, ignore)
    assert (root / "etc/hosts").read_text() == "mounted"
    assert sorted(os.listdir(root / "etc")) == ["hosts"]
    layer = tar_bytes(
        (entry("etc/shadow"), b"new in this layer"),
        (entry("etc/.wh.shadow"), b""),  # same layer: must not hide its own entry
    )
    extract_layer(io.BytesIO(layer), root, ignore)
    assert (root / "etc/shadow").read_text() == "new in this layer"


def test_entries_inside_ignored_paths_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    layer = tar_bytes(
        (entry("proc", tarfile.DIRTYPE), None),
        (entry("proc/cpuinfo"), b"fake"),
        (entry("./etc/hosts"), b"from the image"),
        (entry("./etc/hostname"), b"box"),
    )
    extract_layer(io.BytesIO(layer), root, IgnoreList.of("/proc", "/etc/hosts"))
    assert not (root / "proc").exists()
    assert not (root / "etc/hosts").exists()
    assert (root / "etc/hostname").read_text() == "box"


def test_existing_directory_is_kept_and_updated(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "d/existing", "x")
    d = entry("d", tarfile.DIRTYPE)
    d.mode, d.uid, d.gid, d.mtime = 0o750, 7, 8, 1_234_567_890
    extract_layer(io.BytesIO(tar_bytes((d, None), (entry("d/new"), b"n"))), root, IgnoreList())
    st = os.stat(root / "d")
    assert (st.st_mode & 0o7777, st.st_uid, st.st_gid, st.st_mtime) == (0o750, 7, 8, 1_234_567_890)
    assert (root / "d/existing").exists() and (root / "d/new").exists()


def test_replacing_a_hardlinked_file_leaves_its_twin_alone(tmp_path: Path) -> None:
    root = tmp_path / "root"
    write(root / "a", "shared")
    os.link(root / "a", root / "b")
    extract_layer(io.BytesIO(tar_bytes((entry("a"), b"replaced"))), root, IgnoreList())
    assert (root / "a").read_text() == "replaced" and (root / "b").read_text() == "shared"


def test_plain_archives_keep_wh_files_as_files(tmp_path: Path) -> None:
    """A build context tar is not a layer: ``.wh.`` names are ordinary files there."""
    root = tmp_path / "root"
    write(root / "docs/readme", "kept")
    archive = tar_bytes((entry("docs/.wh.readme"), b"plain file"), (entry(".wh..wh..opq"), b"also"))
    extract_layer(io.BytesIO(archive), root, IgnoreList(), whiteouts=False)
    assert (root / "docs/readme").read_text() == "kept"
    assert (root / "docs/.wh.readme").read_text() == "plain file"
    assert (root / ".wh..wh..opq").read_text() == "also"
