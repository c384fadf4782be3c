"""RUN mounts placed in a root without mounting (executor/sandbox/placement.py), on a fake root on
disk and without privileges: what the command sees while they are placed, and that the root is
exactly as it was afterwards (the same inodes, modes, owners and times), whatever happened."""

from __future__ import annotations

import os
import signal
import socket
import stat
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

import pytest

from executor.sandbox.placement import Placement, PlacementError, placed
from executor.sandbox.runner import BindMount, InlineFile, Mount, SocketMount, TmpfsMount
from executor.sandbox.ssh_forward import SocketService

OLD = 1_000_000_000_000_000_000  # 2001-09-09 in ns: any change made now shows
SECRET = b"placed-secret-0d1f6a"
State = dict[str, tuple[object, ...]]


@dataclass(frozen=True)
class Layout:
    root: Path
    kaniko: Path
    cache: Path  # a cache directory in the kaniko dir, as executor.commands.mounts keeps them
    context: Path  # a bind source

    @property
    def aside(self) -> Path:
        return self.kaniko / "sandbox" / "aside"


def state(top: Path) -> State:
    """Every entry under ``top`` (``top`` itself as "."): type and mode, owner, inode, link count,
    mtime, and content or link target."""
    found: State = {}
    for path in [top, *sorted(top.rglob("*"))]:
        st = os.lstat(path)
        content: object = None
        if stat.S_ISREG(st.st_mode):
            content = path.read_bytes()
        elif stat.S_ISLNK(st.st_mode):
            content = os.readlink(path)
        found[str(path.relative_to(top))] = (st.st_mode, st.st_uid, st.st_gid, st.st_ino, st.st_nlink,
                                             st.st_mtime_ns, content)
    return found


def age(top: Path) -> None:
    for path in [top, *top.rglob("*")]:
        os.utime(path, ns=(OLD, OLD), follow_symlinks=False)


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    root = tmp_path / "root"
    for directory in ("etc", "tmp/cache/sub", "var/lib", "srv"):
        (root / directory).mkdir(parents=True)
    (root / "etc/os-release").write_text("ID=test\n")
    (root / "tmp/cache/image-file").write_text("from the image\n")
    (root / "tmp/cache/sub/deep").write_text("deeper\n")
    (root / "srv/config").write_text("the image's config\n")
    os.symlink("/etc", root / "var/lib/etc-link")
    kaniko = tmp_path / "kaniko"
    cache = kaniko / "caches" / "id-x"
    cache.mkdir(parents=True)
    (cache / "cached.txt").write_text("from an earlier RUN\n")
    context = tmp_path / "context"
    (context / "dir").mkdir(parents=True)
    (context / "dir/one.txt").write_text("one\n")
    os.link(context / "dir/one.txt", context / "dir/also-one.txt")
    (context / "dir/read-only.txt").write_text("ro\n")
    os.chmod(context / "dir/read-only.txt", 0o444)
    os.symlink("one.txt", context / "dir/link")
    for top in (root, kaniko, context):
        age(top)
    return Layout(root, kaniko, cache, context)


@pytest.fixture
def me() -> tuple[int, int]:
    return os.getuid(), os.getgid()


def place(layout: Layout, *mounts: Mount, protected: Path | None = None) -> AbstractContextManager[None]:
    return placed(mounts, root=layout.root, aside=layout.aside, protected=protected or layout.kaniko)


def test_absent_targets_appear_for_the_command_and_leave_nothing(layout: Layout, me: tuple[int, int]) -> None:
    before = state(layout.root)
    mounts = (TmpfsMount(target="/scratch/deep/tmp"),
              InlineFile(target="/run/secrets/token", content=SECRET, mode=0o440, uid=me[0], gid=me[1]),
              BindMount(source=layout.context / "dir", target="/src"))
    with place(layout, *mounts):
        scratch = os.lstat(layout.root / "scratch/deep/tmp")
        assert stat.S_ISDIR(scratch.st_mode) and stat.S_IMODE(scratch.st_mode) == 0o1777
        assert list((layout.root / "scratch/deep/tmp").iterdir()) == []
        secret = layout.root / "run/secrets/token"
        assert secret.read_bytes() == SECRET
        assert (stat.S_IMODE(os.lstat(secret).st_mode), os.lstat(secret).st_uid) == (0o440, me[0])
        assert (layout.root / "src/one.txt").read_text() == "one\n"
        (layout.root / "scratch/deep/tmp/written").write_text("by the command\n")
        (layout.root / "src/one.txt").write_text("changed by the command\n")  # not enforced: discarded
    assert state(layout.root) == before
    assert (layout.context / "dir/one.txt").read_text() == "one\n"
    assert not layout.aside.exists()  # nothing was in the way


def test_existing_target_is_moved_aside_and_put_back(layout: Layout) -> None:
    before = state(layout.root)
    cache_before = state(layout.cache)
    with place(layout, BindMount(source=layout.cache, target="/tmp/cache", readonly=False, movable=True)):
        # only the cache shows at the target; the image's files are out of sight, in the kaniko dir
        assert sorted(p.name for p in (layout.root / "tmp/cache").iterdir()) == ["cached.txt"]
        assert sorted(p.name for p in (layout.root / "tmp").iterdir()) == ["cache"]
        assert os.lstat(layout.root / "tmp").st_mtime_ns == OLD
        assert not layout.cache.exists()
        (layout.root / "tmp/cache/new.txt").write_text("written by the command\n")
    assert state(layout.root) == before  # the same inodes: moved back, not copied
    assert [p.name for p in layout.aside.iterdir()] == []
    after = state(layout.cache)
    assert after.pop("new.txt")[-1] == b"written by the command\n"
    assert after.pop(".")[3] == cache_before.pop(".")[3]  # the cache directory itself, back
    assert after == cache_before


def test_a_read_only_cache_is_copied_and_keeps_nothing(layout: Layout) -> None:
    cache_before = state(layout.cache)
    with place(layout, BindMount(source=layout.cache, target="/tmp/cache", readonly=True, movable=False)):
        assert (layout.root / "tmp/cache/cached.txt").read_text() == "from an earlier RUN\n"
        (layout.root / "tmp/cache/new.txt").write_text("discarded\n")
    assert state(layout.cache) == cache_before


def test_nested_targets_are_placed_in_order_and_undone_in_reverse(layout: Layout, me: tuple[int, int]) -> None:
    before = state(layout.root)
    cache_before = state(layout.cache)
    mounts = (BindMount(source=layout.cache, target="/srv", readonly=False, movable=True),
              BindMount(source=layout.context / "dir", target="/srv/src"),
              InlineFile(target="/srv/src/conf/token", content=SECRET, uid=me[0], gid=me[1]),
              TmpfsMount(target="/srv/src/tmp"))
    with place(layout, *mounts):
        assert (layout.root / "srv/cached.txt").exists() and not (layout.root / "srv/config").exists()
        assert (layout.root / "srv/src/one.txt").read_text() == "one\n"
        assert (layout.root / "srv/src/conf/token").read_bytes() == SECRET
        assert list((layout.root / "srv/src/tmp").iterdir()) == []
    assert state(layout.root) == before
    assert state(layout.cache) == cache_before  # no mount point was left in the cache


@pytest.mark.parametrize(("target", "message"), [
    ("/var/lib/etc-link/token", "'etc-link' on the way is not a directory"),
    ("/etc/os-release/token", "'os-release' on the way is not a directory"),
    ("/", "it is /"),
    ("/kaniko/bin", "or holds the kaniko dir"),
    ("/var/lib/etc-link", "or holds the kaniko dir"),
])
def test_a_failure_half_way_restores_everything(layout: Layout, me: tuple[int, int], target: str,
                                                message: str) -> None:
    before, cache_before = state(layout.root), state(layout.cache)
    mounts = (BindMount(source=layout.cache, target="/tmp/cache", readonly=False, movable=True),
              TmpfsMount(target="/scratch"),
              InlineFile(target=target, content=SECRET, uid=me[0], gid=me[1]))
    # the kaniko dir as it lies on / in container mode: /kaniko (the last case: a directory holding it)
    protected = layout.root / ("var/lib/etc-link/kaniko" if target == "/var/lib/etc-link" else "kaniko")
    with pytest.raises(PlacementError, match=message):
        with place(layout, *mounts, protected=protected):
            raise AssertionError("the command must not run")
    assert state(layout.root) == before
    assert state(layout.cache) == cache_before


def test_a_missing_bind_source_half_way_restores_everything(layout: Layout) -> None:
    before = state(layout.root)
    mounts = (TmpfsMount(target="/tmp/cache"), BindMount(source=layout.context / "missing", target="/srv/in"))
    with pytest.raises(PlacementError, match="cannot place the mount at /srv/in: No such file or directory"):
        with place(layout, *mounts):
            raise AssertionError("the command must not run")
    assert state(layout.root) == before


class _Interrupted(Exception):
    pass


@dataclass(frozen=True)
class _SignalsItself:
    """A mount whose placing is interrupted by SIGTERM (as ``docker stop`` would)."""

    seen: list[str]
    target: str = "/elsewhere"

    def place(self, placement: Placement) -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        self.seen.append("placed after the signal")


def test_a_signal_while_placing_waits_until_the_root_is_whole(layout: Layout) -> None:
    def interrupted(_signum: int, _frame: object) -> None:
        raise _Interrupted

    before = state(layout.root)
    seen: list[str] = []
    previous = signal.signal(signal.SIGTERM, interrupted)
    try:
        with pytest.raises(_Interrupted):
            with placed((TmpfsMount(target="/tmp/cache"), _SignalsItself(seen), TmpfsMount(target="/scratch")),
                        root=layout.root, aside=layout.aside, protected=layout.kaniko):
                raise AssertionError("the command must not run")
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert seen == ["placed after the signal"]  # the handler ran once every mount was placed
    assert state(layout.root) == before  # ... and everything was undone before it went on


def test_an_exception_while_the_command_runs_restores_everything(layout: Layout) -> None:
    before = state(layout.root)
    with pytest.raises(KeyboardInterrupt):
        with place(layout, BindMount(source=layout.cache, target="/tmp/cache", readonly=False, movable=True)):
            raise KeyboardInterrupt
    assert state(layout.root) == before and (layout.cache / "cached.txt").exists()


def test_a_bind_copy_shows_what_the_mount_would(layout: Layout) -> None:
    with place(layout, BindMount(source=layout.context / "dir", target="/src")):
        source, copy = state(layout.context / "dir"), state(layout.root / "src")
        # type, mode, owner, link count, mtime and content; only the inodes differ
        assert {k: v[:3] + v[4:] for k, v in copy.items()} == {k: v[:3] + v[4:] for k, v in source.items()}
        assert os.lstat(layout.root / "src/one.txt").st_ino == os.lstat(layout.root / "src/also-one.txt").st_ino
        assert stat.S_IMODE(os.lstat(layout.root / "src/read-only.txt").st_mode) == 0o444  # modes untouched


def test_a_cache_the_command_replaced_is_not_kept(layout: Layout) -> None:
    with place(layout, BindMount(source=layout.cache, target="/tmp/cache", readonly=False, movable=True)):
        cache = layout.root / "tmp/cache"
        for child in cache.iterdir():
            child.unlink()
        cache.rmdir()
        os.symlink("/etc", cache)
    assert not layout.cache.exists() and not layout.cache.is_symlink()  # the next RUN starts afresh
    assert (layout.root / "tmp/cache/image-file").read_text() == "from the image\n"


def test_a_placed_file_linked_elsewhere_stops_the_build_with_its_bytes_erased(
        layout: Layout, me: tuple[int, int]) -> None:
    with pytest.raises(PlacementError, match="moved or hard-linked the file placed at /run/secrets/token"):
        with place(layout, InlineFile(target="/run/secrets/token", content=SECRET, uid=me[0], gid=me[1])):
            os.link(layout.root / "run/secrets/token", layout.root / "etc/kept")
    assert (layout.root / "etc/kept").read_bytes() == b""
    assert not (layout.root / "run").exists()


def test_a_placed_file_moved_elsewhere_stops_the_build_with_its_bytes_erased(
        layout: Layout, me: tuple[int, int]) -> None:
    with pytest.raises(PlacementError, match="moved or hard-linked"):
        with place(layout, InlineFile(target="/run/secrets/token", content=SECRET, uid=me[0], gid=me[1])):
            os.rename(layout.root / "run/secrets/token", layout.root / "etc/moved")
            (layout.root / "run/secrets/token").write_bytes(b"a decoy")
    assert (layout.root / "etc/moved").read_bytes() == b""


def test_a_directory_swapped_for_a_symlink_cannot_send_the_restore_elsewhere(layout: Layout,
                                                                            tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    (victim / "cache").mkdir(parents=True)
    (victim / "cache/precious").write_text("not the root's\n")
    (victim / "secret").write_text("not the root's either\n")
    before = state(victim)
    mounts = (BindMount(source=layout.cache, target="/tmp/cache", readonly=False, movable=True),
              InlineFile(target="/tmp/secret", content=SECRET, uid=os.getuid(), gid=os.getgid()))
    with place(layout, *mounts):
        (layout.root / "tmp").rename(layout.root / "moved-tmp")  # what the command may do
        os.symlink(victim, layout.root / "tmp")
    assert state(victim) == before
    # restored where the directory went: the image's content back in it, nothing placed left
    assert sorted(p.name for p in (layout.root / "moved-tmp").iterdir()) == ["cache"]
    assert (layout.root / "moved-tmp/cache/image-file").read_text() == "from the image\n"
    assert (layout.cache / "cached.txt").exists()


def test_an_agent_socket_is_bound_at_the_target_and_leaves_nothing(layout: Layout, me: tuple[int, int]) -> None:
    # A socket cannot be copied or moved: the executor listens on one more, bound at the target.
    before = state(layout.root)
    service = SocketService(lambda connection: connection.sendall(b"agent\n"), name="test-agent")
    source = layout.kaniko / "agent.sock"
    service.listen(str(source), mode=0o600, uid=me[0], gid=me[1])
    mount = SocketMount(target="/run/buildkit/ssh_agent.0", source=source,
                        listen=lambda at: service.listen(at, mode=0o660, uid=me[0], gid=me[1]))
    try:
        with place(layout, mount):
            placed_socket = layout.root / "run/buildkit/ssh_agent.0"
            st = os.lstat(placed_socket)
            assert stat.S_ISSOCK(st.st_mode) and stat.S_IMODE(st.st_mode) == 0o660
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
                client.connect(str(placed_socket))
                assert client.recv(16) == b"agent\n"
    finally:
        service.close()
    assert state(layout.root) == before
