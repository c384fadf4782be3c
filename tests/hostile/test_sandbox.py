"""Sandbox mode (``--root``) as a real container: a RUN cannot leave the root, use the host's
devices, gain capabilities beyond Docker's defaults or reach the host's loopback services."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.hostile.conftest import Canary, build, entry, push_base, tar_of
from tests.support.registry import RunningRegistry

ESCAPE_C = r"""
#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>
/* The classic chroot escape: chroot into a subdirectory, climb with "..", chroot there. */
int main(int argc, char **argv) {
    mkdir("/jail", 0755);
    if (chroot("/jail") != 0) { perror("chroot"); }
    for (int i = 0; i < 128; i++) chdir("..");
    chroot(".");
    int fd = open(argv[1], O_WRONLY | O_CREAT, 0644);
    if (fd < 0) { perror("open"); return 3; }
    write(fd, "escaped\n", 8);
    return 0;
}
"""


PROBE_C = r"""
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <unistd.h>
/* TCP to IP:PORT with no name service (busybox's static wget needs NSS), the answer's body. */
int main(int argc, char **argv) {
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(atoi(argv[2]))};
    inet_pton(AF_INET, argv[1], &to.sin_addr);
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct timeval limit = {.tv_sec = 3};
    setsockopt(s, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit);
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    if (connect(s, (struct sockaddr *)&to, sizeof to) != 0) { printf("unreachable\n"); return 0; }
    const char *get = "GET / HTTP/1.0\r\n\r\n";
    write(s, get, strlen(get));
    char buffer[4096]; int n, total = 0;
    while ((n = read(s, buffer + total, sizeof buffer - 1 - total)) > 0) total += n;
    buffer[total] = 0;
    char *body = strstr(buffer, "\r\n\r\n");
    printf("%s", body ? body + 4 : "no answer\n");
    return 0;
}
"""


def _compile(directory: Path, name: str, source: str) -> Path:
    (directory / f"{name}.c").write_text(source)
    subprocess.run(["gcc", "-static", "-O1", "-o", str(directory / name), str(directory / f"{name}.c")],
                   check=True, capture_output=True)
    return directory / name


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Static test programs (gcc and libc6-dev come with scripts/setup.sh)."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc is not installed")
    directory = tmp_path_factory.mktemp("programs")
    return {name: _compile(directory, name, source).read_bytes()
            for name, source in (("escape", ESCAPE_C), ("probe", PROBE_C))}


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

