from __future__ import annotations

import gzip
import io
import os
import tarfile
from pathlib import Path

import pytest
import zstandard

from snapshot import (
    IgnoreList,
    LayerFormatError,
    UnsafeLayerEntry,
    extract_layer,
    open_layer_stream,
)

from .helpers import entry, tar_bytes

SYM, LNK, DIR = tarfile.SYMTYPE, tarfile.LNKTYPE, tarfile.DIRTYPE


@pytest.fixture
def jail(tmp_path: Path) -> tuple[Path, Path]:
    """(root, sentinel): root is tmp/a/b/root; sentinel dirs sit next to and above it."""
    root = tmp_path / "a/b/root"
    root.mkdir(parents=True)
    (tmp_path / "a/b/etc").mkdir()
    (tmp_path / "a/etc").mkdir()
    (tmp_path / "etc").mkdir()
    return root, tmp_path


def outside_files(base: Path, root: Path) -> list[str]:
    return sorted(
        str(p.relative_to(base)) for p in base.rglob("*")
        if root not in p.parents and p != root and not p.is_dir()
    )


def apply(root: Path, data: bytes) -> None:
    extract_layer(io.BytesIO(data), root, IgnoreList())


@pytest.mark.parametrize("layer", [
    pytest.param([(entry("../x"), b"x")], id="dotdot"),
    pytest.param([(entry("/etc/x"), b"x")], id="absolute"),
    pytest.param([(entry("a/../../x"), b"x")], id="inner-dotdot"),
    pytest.param([(entry("evil", SYM, linkname="../../.."), None), (entry("evil/pwned"), b"x")],
                 id="symlink-climbs"),
    pytest.param([(entry("up", SYM, linkname="../etc"), None), (entry("up/x"), b"x")],
                 id="symlink-sibling"),
    pytest.param([(entry("d", DIR), None), (entry("d/up", SYM, linkname="../../etc"), None),
                  (entry("d/up/x"), b"x")], id="nested-symlink-climbs"),
    pytest.param([(entry("loop1", SYM, linkname="loop2"), None),
                  (entry("loop2", SYM, linkname="loop1"), None), (entry("loop1/x"), b"x")],
                 id="symlink-loop"),
    pytest.param([(entry("passwd", LNK, linkname="../../etc/passwd"), None)], id="hardlink-dotdot"),
    pytest.param([(entry("passwd", LNK, linkname="/etc/passwd"), None)], id="hardlink-absolute"),
    pytest.param([(entry("evil", SYM, linkname="../.."), None),
                  (entry("passwd", LNK, linkname="evil/etc/passwd"), None)],
                 id="hardlink-through-symlink"),
])
def test_malicious_entries_are_refused(jail: tuple[Path, Path], layer) -> None:
    root, base = jail
    (base / "etc/passwd").write_text("host")
    with pytest.raises(UnsafeLayerEntry):
        apply(root, tar_bytes(*layer))
    assert outside_files(base, root) == ["etc/passwd"]
    assert (base / "etc/passwd").read_text() == "host"


def test_symlink_planted_by_an_earlier_layer(jail: tuple[Path, Path]) -> None:
    root, base = jail
    apply(root, tar_bytes((entry("usr", DIR), None),
                          (entry("usr/share", SYM, linkname="../../../../etc"), None)))
    assert os.readlink(root / "usr/share") == "../../../../etc"  # only data, until used
    with pytest.raises(UnsafeLayerEntry):
        apply(root, tar_bytes((entry("usr/share/x"), b"x")))
    assert outside_files(base, root) == []


def test_absolute_symlink_resolves_inside_the_root(jail: tuple[Path, Path]) -> None:
    root, base = jail
    apply(root, tar_bytes((entry("abs", SYM, linkname="/"), None),
                          (entry("abs/etc/x"), b"inside"),
                          (entry("up", SYM, linkname="/../etc"), None)))
    assert (root / "etc/x").read_text() == "inside"
    assert outside_files(base, root) == []
    with pytest.raises(UnsafeLayerEntry):
        apply(root, tar_bytes((entry("up/y"), b"x")))


def test_symlinked_parents_like_merged_usr_and_var_run(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    apply(root, tar_bytes(
        (entry("usr/lib", DIR), None),
        (entry("lib", SYM, linkname="usr/lib"), None),
        (entry("run", DIR), None),
        (entry("var", DIR), None),
        (entry("var/run", SYM, linkname="/run"), None),
    ))
    apply(root, tar_bytes(
        (entry("lib/x86_64-linux-gnu/libc.so.6"), b"libc"),
        (entry("var/run/lock/pid"), b"1"),
        (entry("lib/libc-link", LNK, linkname="lib/x86_64-linux-gnu/libc.so.6"), None),
        (entry("var/run/.wh.gone"), b""),
    ))
    assert (root / "usr/lib/x86_64-linux-gnu/libc.so.6").read_text() == "libc"
    assert (root / "run/lock/pid").read_text() == "1"
    assert os.path.islink(root / "lib") and os.path.islink(root / "var/run")
    libc = root / "usr/lib/x86_64-linux-gnu/libc.so.6"
    assert os.stat(root / "usr/lib/libc-link").st_ino == os.stat(libc).st_ino
    lock = os.stat(root / "run/lock")
    assert (lock.st_mode & 0o7777, lock.st_uid) == (0o755, 0)  # created missing parent


def test_final_symlink_is_replaced_not_followed(jail: tuple[Path, Path]) -> None:
    root, base = jail
    (base / "etc/target").write_text("host")
    apply(root, tar_bytes((entry("f", SYM, linkname="../../../etc/target"), None)))
    apply(root, tar_bytes((entry("f"), b"overwritten")))
    assert (base / "etc/target").read_text() == "host"
    assert not os.path.islink(root / "f") and (root / "f").read_text() == "overwritten"


def test_corrupt_archives(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    good = tar_bytes((entry("file"), b"x" * 5000))
    with pytest.raises(LayerFormatError):
        apply(root, b"this is not a tar archive" * 40)
    with pytest.raises(LayerFormatError):
        apply(root, good[:1024])  # truncated in the middle of the body
    with pytest.raises(LayerFormatError):
        extract_layer(open_layer_stream(io.BytesIO(gzip.compress(good)[:-30])), root, IgnoreList())
    apply(root, b"")  # no bytes at all: an empty layer, as Go's archive/tar reads it


def test_open_layer_stream_sniffs_plain_gzip_and_zstd(tmp_path: Path) -> None:
    data = tar_bytes((entry("hello"), b"world"))
    for blob in (data, gzip.compress(data), zstandard.ZstdCompressor().compress(data)):
        root = tmp_path / str(len(blob))
        root.mkdir()
        extract_layer(open_layer_stream(io.BytesIO(blob)), root, IgnoreList())
        assert (root / "hello").read_text() == "world"
    with pytest.raises(LayerFormatError, match="zstd"):
        truncated = zstandard.ZstdCompressor().compress(data + bytes(4096))[:-12]
        extract_layer(open_layer_stream(io.BytesIO(truncated)), tmp_path, IgnoreList())
