"""https:// contexts (presigned-URL style tarballs, plain http in tests) and Dockerfile URLs."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

from executor.contexts.web import http_session
from executor.http import user_agent
from tests.contexts.helpers import (
    DOCKERFILE,
    assert_one_line_error,
    build_from,
    context_files,
    context_tar,
    manifest_exists,
)
from tests.contexts.servers import FileServer
from tests.support.readback import describe_tree
from tests.support.registry import RunningRegistry, free_port


def test_tarball_over_http_with_a_query(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                        file_server: FileServer) -> None:
    big = bytes(range(256)) * 40_000  # ~10 MiB: enough to show progress lines
    (file_server.directory / "ctx.tar.gz").write_bytes(
        context_tar({"marker.txt": "over http\n", "big.bin": big}, gz=False))
    url = f"{file_server.url}/ctx.tar.gz?X-Amz-Signature=do-not-log-me"
    run, dest = build_from(tmp_path, registry, busybox_image, url)
    assert run.returncode == 0, run.stderr
    files = context_files(registry, dest, tmp_path)
    assert files["marker.txt"] == b"over http\n" and files["big.bin"] == big
    assert "do-not-log-me" not in run.stderr  # a presigned URL's signature stays out of the log
    progress = [line for line in run.stderr.splitlines() if "fetching" in line and "%" in line]
    assert 1 <= len(progress) <= 11, run.stderr  # a few progress lines, not one per chunk


def test_dockerfile_from_a_url(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                               file_server: FileServer) -> None:
    (file_server.directory / "remote.Dockerfile").write_text(DOCKERFILE + "RUN echo remote > /proof\n")
    context = tmp_path / "context"
    context.mkdir()
    (context / "marker.txt").write_text("local context\n")
    run, dest = build_from(tmp_path, registry, busybox_image, str(context),
                           "--dockerfile", f"{file_server.url}/remote.Dockerfile")
    assert run.returncode == 0, run.stderr
    files = context_files(registry, dest, tmp_path)
    assert files == {"marker.txt": b"local context\n"}
    # the RUN line only the remote Dockerfile has
    assert describe_tree(tmp_path / "pulled" / "bundle")["/proof"].content == b"remote\n"


def test_missing_and_unreachable_urls(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                      file_server: FileServer) -> None:
    cases = [
        (f"{file_server.url}/no-such.tar.gz", (), "HTTP 404"),
        (f"http://127.0.0.1:{free_port()}/ctx.tar.gz", (), "cannot reach the server"),
    ]
    for index, (url, flags, fragment) in enumerate(cases):
        work = tmp_path / str(index)
        work.mkdir()
        run, dest = build_from(work, registry, busybox_image, url, *flags)
        assert_one_line_error(run, url, fragment)
        assert not manifest_exists(registry, dest)
    context = tmp_path / "context"
    context.mkdir()
    run, dest = build_from(tmp_path, registry, busybox_image, str(context),
                           "--dockerfile", f"{file_server.url}/missing.Dockerfile")
    assert_one_line_error(run, "Dockerfile", f"{file_server.url}/missing.Dockerfile", "HTTP 404")
    assert not manifest_exists(registry, dest)


def test_web_sessions_come_from_the_one_factory() -> None:
    """The web-context session names lamina, retries a busy server's 503 and takes a 404 as
    final at once."""
    seen: list[tuple[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            seen.append((self.path, self.headers.get("User-Agent", "")))
            status = 503 if self.path == "/busy" and len(seen) == 1 else (
                404 if self.path == "/missing" else 200)
            self.send_response(status)
            self.send_header("Retry-After", "0")
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with http_session() as session:
            assert session.get(f"{base}/busy", timeout=10).status_code == 200
            assert session.get(f"{base}/missing", timeout=10).status_code == 404
    finally:
        server.shutdown()
        server.server_close()
    assert [path for path, _ in seen] == ["/busy", "/busy", "/missing"]
    assert {agent for _, agent in seen} == {user_agent()}
    assert user_agent().startswith("lamina/")
