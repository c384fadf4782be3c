"""ADD <URL>: downloaded from a real HTTP server on loopback, checked against --checksum."""

from __future__ import annotations

import functools
import hashlib
import http.server
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull, pushed
from tests.support.registry import RunningRegistry

PAYLOAD = b"downloaded payload\n" * 1000
MTIME = 1_600_000_000  # 2020-09-13T12:26:40Z


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


@pytest.fixture(scope="module")
def http_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serves a directory with Last-Modified headers from the files' mtimes."""
    served = tmp_path_factory.mktemp("served")
    (served / "files").mkdir()
    (served / "files/payload.bin").write_bytes(PAYLOAD)
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("inside.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"in\n"))
    (served / "files/archive.tar.gz").write_bytes(archive.getvalue())
    for path in (served / "files").iterdir():
        os.utime(path, (MTIME, MTIME))
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(served)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_add_url(tmp_path: Path, registry: RunningRegistry, busybox_image: str, http_server: str) -> None:
    digest = hashlib.sha256(PAYLOAD).hexdigest()
    dockerfile = f"""\
FROM {busybox_image}
ARG SUM=sha256:{digest}
ADD --checksum=$SUM {http_server}/files/payload.bin /opt/
ADD {http_server}/files/payload.bin /opt/renamed.bin
ADD --chown=1:2 --chmod=0644 {http_server}/files/archive.tar.gz /archives/
"""
    _, image = build_and_pull(tmp_path, registry, dockerfile)
    tree = image.tree()
    downloaded = tree["/opt/payload.bin"]
    assert (downloaded.content, downloaded.mode, downloaded.uid, downloaded.gid) == (PAYLOAD, 0o600, 0, 0)
    assert tree["/opt/renamed.bin"].content == PAYLOAD
    assert os.lstat(image.rootfs / "opt/payload.bin").st_mtime == MTIME  # from Last-Modified
    archive = tree["/archives/archive.tar.gz"]  # a downloaded archive is not unpacked
    assert (archive.kind, archive.mode, archive.uid, archive.gid) == ("file", 0o644, 1, 2)
    assert "/archives/inside.txt" not in tree


@pytest.mark.parametrize("flag, source, message", [
    ("--checksum=sha256:" + "0" * 64, "/files/payload.bin", "checksum mismatch"),
    ("--checksum=md5:abc", "/files/payload.bin", "invalid checksum"),
    ("", "/files/missing.bin", "404"),
    ("--checksum=sha256:" + "0" * 64, "local.txt", "--checksum needs exactly one source"),
])
def test_add_url_errors(tmp_path: Path, registry: RunningRegistry, busybox_image: str, http_server: str,
                        flag: str, source: str, message: str) -> None:
    url = http_server + source if source.startswith("/") else source
    run, destination = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\nADD {flag} {url} /x\n",
                             files={"local.txt": "l\n"})
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    assert "Dockerfile:3:" in run.error_lines[0] and message in run.error_lines[0], run.error_lines[0]
    assert not pushed(registry, destination)


class _BusyOnceHandler(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first GET of each path, then the payload; records User-Agents."""

    seen: list[tuple[str, str]] = []

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass

    def do_GET(self) -> None:  # noqa: N802
        busy = all(path != self.path for path, _ in self.seen)
        self.seen.append((self.path, self.headers.get("User-Agent", "")))
        body = b"busy\n" if busy else PAYLOAD
        self.send_response(503 if busy else 200)
        self.send_header("Retry-After", "0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_add_url_retries_a_busy_server_and_names_lamina(tmp_path: Path, registry: RunningRegistry,
                                                        busybox_image: str) -> None:
    _BusyOnceHandler.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _BusyOnceHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/busy/payload.bin"
        _, image = build_and_pull(tmp_path, registry, f"FROM {busybox_image}\nADD {url} /opt/\n")
    finally:
        server.shutdown()
        server.server_close()
    assert image.tree()["/opt/payload.bin"].content == PAYLOAD
    assert [path for path, _ in _BusyOnceHandler.seen] == ["/busy/payload.bin"] * 2
    assert all(agent.startswith("lamina/") for _, agent in _BusyOnceHandler.seen)
