from __future__ import annotations

import os
from pathlib import Path

import pytest

from snapshot import IgnoreList, walk


def test_ignore_matches_path_and_below_component_wise() -> None:
    ignore = IgnoreList.of("/proc", "kaniko/", "etc/hosts", "./sys")
    assert ignore.paths == frozenset({"proc", "kaniko", "etc/hosts", "sys"})
    assert ignore.ignores("proc")
    assert ignore.ignores("proc/1/status")
    assert ignore.ignores("etc/hosts")
    assert not ignore.ignores("procx")
    assert not ignore.ignores("etc/hostsx")
    assert not ignore.ignores("etc")
    assert not ignore.ignores("etc/hostname")
    assert ignore.has_ignored_below("etc")
    assert not ignore.has_ignored_below("usr")
    assert not IgnoreList().ignores("anything")


def test_ignore_is_a_frozen_value() -> None:
    a = IgnoreList.of("proc")
    assert a == IgnoreList(frozenset({"/proc"}))
    assert a.union(["dev"]).paths == {"proc", "dev"}
    with pytest.raises(AttributeError):
        a.paths = frozenset()  # type: ignore[misc]
    with pytest.raises(ValueError):
        IgnoreList.of("a/../b")


def test_walk_yields_relative_paths_without_following_symlinks(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root")
    (tmp_path / "etc/hosts").write_text("mount")
    (tmp_path / "proc/1").mkdir(parents=True)
    (tmp_path / "procx").mkdir()
    outside = tmp_path.parent / (tmp_path.name + "-outside")
    outside.mkdir()
    (outside / "secret").write_text("x")
    os.symlink(outside, tmp_path / "link")
    seen = {rel: st for rel, st in walk(tmp_path, IgnoreList.of("proc", "etc/hosts"))}
    assert set(seen) == {"etc", "etc/passwd", "procx", "link"}
    assert os.path.islink(tmp_path / "link") and seen["link"].st_mode & 0o170000 == 0o120000
