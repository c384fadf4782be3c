"""Cleaning the root between stages: ignored paths stay, the rest goes (moved aside when it can)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from executor.rootfs.clean import clean_root
from snapshot.ignore import IgnoreList


def _root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "usr/bin").mkdir(parents=True)
    (root / "usr/bin/tool").write_text("tool")
    (root / "var/run/secrets").mkdir(parents=True)
    (root / "var/run/secrets/token").write_text("kept")
    (root / "var/lib").mkdir()
    (root / "var/lib/state").write_text("state")
    os.symlink("usr/bin", root / "bin")
    (root / "top").write_text("top")
    return root


def _left(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def test_clean_root_deletes_all_but_ignored_paths(tmp_path: Path) -> None:
    root = _root(tmp_path)
    assert clean_root(root, IgnoreList(("var/run",))) is None
    assert _left(root) == ["var", "var/run", "var/run/secrets", "var/run/secrets/token"]


def test_clean_root_moves_entries_aside_on_the_same_filesystem(tmp_path: Path) -> None:
    root = _root(tmp_path)
    moved = clean_root(root, IgnoreList(("var/run",)), trash=tmp_path / "trash")
    assert _left(root) == ["var", "var/run", "var/run/secrets", "var/run/secrets/token"]
    assert moved is not None and moved.parent == tmp_path / "trash"
    found = sorted(os.readlink(p) if p.is_symlink() else p.read_text()
                   for p in moved.rglob("*") if p.is_symlink() or p.is_file())
    assert found == ["state", "tool", "top", "usr/bin"]  # moved whole, nothing lost


def test_clean_root_deletes_what_cannot_move_to_another_filesystem(tmp_path: Path) -> None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or os.stat(shm).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on another filesystem")
    root = _root(tmp_path)
    trash = shm / f"lamina-test-{os.getpid()}"
    try:
        moved = clean_root(root, IgnoreList(("var/run",)), trash=trash)
        assert _left(root) == ["var", "var/run", "var/run/secrets", "var/run/secrets/token"]
        assert moved is not None and not any(moved.iterdir())
    finally:
        shutil.rmtree(trash, ignore_errors=True)
