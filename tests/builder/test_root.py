"""Where the executor agrees to build: containers only for /, empty directories for --root."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.errors import UsageError
from executor.options import RootOptions
from executor.rootfs.root import check_root, ignore_list, inside_container


def test_container_detection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("container", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    proc, root = tmp_path / "proc", tmp_path / "fs"
    (proc / "1").mkdir(parents=True)
    root.mkdir()
    (proc / "1/cgroup").write_text("0::/init.scope\n")
    assert not inside_container(proc, root)
    (proc / "1/cgroup").write_text("0::/kubepods/besteffort/pod1234/abcd\n")
    assert inside_container(proc, root)
    (proc / "1/cgroup").write_text("0::/\n")
    (root / ".dockerenv").touch()
    assert inside_container(proc, root)


def test_sandbox_root_must_be_empty_and_kaniko_dir_outside(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "precious.txt").write_text("mine")
    with pytest.raises(UsageError, match="must be empty"):
        check_root(RootOptions(root=root, kaniko_dir=tmp_path / "k"))
    with pytest.raises(UsageError, match="outside"):
        check_root(RootOptions(root=tmp_path / "new", kaniko_dir=tmp_path / "new" / "kaniko"))
    check_root(RootOptions(root=tmp_path / "absent", kaniko_dir=tmp_path / "k"))


def test_ignore_list_defaults(tmp_path: Path) -> None:
    ignore = ignore_list(RootOptions(root=tmp_path, kaniko_dir=tmp_path.parent / "k",
                                     ignore_paths=("/cache/",)))
    for path in ("proc/1", "sys", "dev/null", "etc/hosts", "etc/resolv.conf", "var/run/x", "cache/a"):
        assert ignore.ignores(path), path
    assert not ignore.ignores("etc/passwd")
    no_var_run = ignore_list(RootOptions(root=tmp_path, kaniko_dir=tmp_path.parent / "k",
                                         ignore_var_run=False))
    assert not no_var_run.ignores("var/run/x")
