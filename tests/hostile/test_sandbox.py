"""Sandbox mode (``--root``) as a real container: a RUN cannot leave the root, use the host's
devices, gain capabilities beyond Docker's defaults or reach the host's loopback services."""

from __future__ import annotations

import http.server
import json
import os
import shutil
import tarfile
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.rootfs.root import reachable_by_others
from tests.hostile.conftest import Canary, build, entry, push_base, tar_of
from tests.support.registry import RunningRegistry


def test_the_chroot_escape_stays_inside_the_root(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str, canary: Canary,
                                                 programs: dict[str, bytes]) -> None:
    target = canary.directory / "escaped"
    result = build(tmp_path, registry, f"FROM {busybox_image}\nCOPY --chmod=755 escape /escape\n"
                   f"RUN mkdir -p {canary.directory} && /escape {target}\n",
                   {"escape": programs["escape"]})
    assert result.run.returncode == 0, result.run.error_lines
    assert canary.intact()  # nothing written outside
    assert (result.root / str(target).lstrip("/")).read_text() == "escaped\n"  # but inside


def test_mount_and_other_admin_capabilities_are_gone(tmp_path: Path, registry: RunningRegistry,
                                                     busybox_image: str) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\n"
                   "RUN (mount -t tmpfs none /mnt && echo mounted || echo denied) > /mount.txt; "
                   "grep CapBnd /proc/self/status > /caps.txt\n")
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "mount.txt").read_text() == "denied\n"
    bounding = int((result.root / "caps.txt").read_text().split()[1], 16)
    assert bounding == 0xa80425fb  # Docker's default set, exactly


def test_device_nodes_are_inert(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    kmsg = entry("kmsg", tarfile.CHRTYPE, mode=0o666)
    kmsg.devmajor, kmsg.devminor = 1, 11  # /dev/kmsg: the host kernel's log
    disk = entry("disk", tarfile.BLKTYPE, mode=0o666)
    disk.devmajor, disk.devminor = 7, 0  # a loop device
    base = push_base(registry, tmp_path, "devices", [tar_of((kmsg, None), (disk, None))])
    result = build(tmp_path, registry, f"FROM {busybox_image}\nCOPY --from={base} /kmsg /disk /\n"
                   "RUN (head -c 64 /kmsg && echo read-kmsg || echo kmsg-denied) > /out.txt 2>/dev/null; "
                   "(head -c 64 /disk && echo read-disk || echo disk-denied) >> /out.txt 2>/dev/null; "
                   "mknod /made c 1 3; (echo x > /made && echo made-usable || echo made-denied) "
                   ">> /out.txt 2>/dev/null; echo x > /dev/null && echo devnull-ok >> /out.txt\n")
    assert result.run.returncode == 0, result.run.error_lines
    lines = (result.root / "out.txt").read_text().split()
    assert lines == ["kmsg-denied", "disk-denied", "made-denied", "devnull-ok"]


@pytest.fixture
def loopback_server() -> Iterator[int]:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"host service\n")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()


PROBE = ("COPY --chmod=755 probe /probe\nRUN /probe 127.0.0.1 {port} > /probe.txt; "
         "cat /proc/net/dev | cut -d: -f1 | tr -d ' ' | tail -n +3 | sort > /interfaces.txt\n")


def test_run_has_its_own_network_without_the_hosts_loopback(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, loopback_server: int,
        programs: dict[str, bytes]) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\n" + PROBE.format(port=loopback_server),
                   {"probe": programs["probe"]})
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "probe.txt").read_text() == "unreachable\n"
    assert (result.root / "interfaces.txt").read_text().split() == ["lo", "tap0"]  # slirp4netns


def test_network_none_has_only_loopback(tmp_path: Path, registry: RunningRegistry,
                                        busybox_image: str, loopback_server: int,
                                        programs: dict[str, bytes]) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\n" + PROBE.format(port=loopback_server),
                   {"probe": programs["probe"]}, "--network=none")
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "probe.txt").read_text() == "unreachable\n"
    assert (result.root / "interfaces.txt").read_text().split() == ["lo"]


def test_network_host_opts_back_into_the_hosts_network(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, loopback_server: int,
        programs: dict[str, bytes]) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\n" + PROBE.format(port=loopback_server),
                   {"probe": programs["probe"]}, "--network=host")
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "probe.txt").read_text() == "host service\n"


def test_the_kaniko_dir_is_private(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    result = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\n")
    assert result.run.returncode == 0, result.run.error_lines
    assert (tmp_path / "kaniko").stat().st_mode & 0o777 == 0o700



def test_run_cannot_reach_the_kaniko_dir_or_the_executor(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, programs: dict[str, bytes]) -> None:
    kaniko = tmp_path / "kaniko"
    (kaniko / ".docker").mkdir(parents=True)
    secret = "credential-" + os.urandom(8).hex()
    (kaniko / ".docker" / "config.json").write_text(json.dumps({"auths": {"x": {"auth": secret}}}))
    executor_pid = os.getpid()  # the build runs in this process
    attempts = (f"RUN cat {kaniko}/.docker/config.json /kaniko/.docker/config.json > /tmp/cat.txt 2>&1; "
                f"ls {kaniko} > /tmp/ls.txt 2>&1; cat /proc/{executor_pid}/environ > /tmp/environ.txt 2>&1; "
                f"/ptrace {executor_pid} 1 > /tmp/ptrace.txt 2>&1; kill -0 {executor_pid} 2> /tmp/kill.txt; true\n")
    result = build(tmp_path, registry, f"FROM {busybox_image}\nCOPY --chmod=755 ptrace /ptrace\n" + attempts,
                   {"ptrace": programs["ptrace"]}, "--no-push")
    assert result.run.returncode == 0, result.run.error_lines
    tmp = result.root / "tmp"
    outputs = {name: (tmp / name).read_text() for name in ("cat.txt", "ls.txt", "environ.txt", "ptrace.txt", "kill.txt")}
    assert secret not in "".join(outputs.values())
    assert "No such file" in outputs["cat.txt"] and "No such file" in outputs["ls.txt"]
    assert "No such file" in outputs["environ.txt"]  # the executor is not in the RUN's PID namespace
    assert f"{executor_pid} denied" in outputs["ptrace.txt"] and "ATTACHED" not in outputs["ptrace.txt"]
    assert "No such process" in outputs["kill.txt"]
    assert not any(secret in message for message in result.run.messages)


def test_a_root_other_users_could_reach_is_warned_about(tmp_path: Path, registry: RunningRegistry,
                                                        busybox_image: str) -> None:
    assert not reachable_by_others(tmp_path / "root")  # pytest's temp directories are root's alone
    open_dir = Path(tempfile.mkdtemp(prefix="lamina-open-", dir="/tmp"))
    try:
        os.chmod(open_dir, 0o755)
        assert reachable_by_others(open_dir / "root")
        result = build(tmp_path, registry, f"FROM {busybox_image}\n", None, "--no-push",
                       "--root", str(open_dir / "root"))
        assert result.run.returncode == 0, result.run.error_lines
        assert any("can be reached by other users" in m for m in result.run.messages)
    finally:
        shutil.rmtree(open_dir)


def test_a_mount_point_swapped_for_a_symlink_leaves_the_host_alone(tmp_path: Path, registry: RunningRegistry,
                                                                  busybox_image: str) -> None:
    # The mount point /tmp/a/m is created for the command and removed after it. The command swaps
    # /tmp for a symlink to a host directory shaped the same: removing and restoring times through
    # that path would rmdir the host's empty a/m and touch the host directory's times.
    victim = tmp_path / "victim"
    (victim / "a" / "m").mkdir(parents=True)
    os.utime(victim, ns=(1_000_000_000, 1_000_000_000))
    result = build(tmp_path, registry, f"FROM {busybox_image}\n"
                   "RUN --mount=type=tmpfs,target=/tmp/a/m "
                   f"mv /tmp /tmp-moved && ln -s {victim} /tmp && echo swapped > /swapped\n")
    assert result.run.returncode == 0, result.run.error_lines
    assert (result.root / "swapped").read_text() == "swapped\n"
    assert (victim / "a" / "m").is_dir()
    assert victim.stat().st_mtime_ns == 1_000_000_000
