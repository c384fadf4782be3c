"""https:// contexts (presigned-URL style tarballs, plain http in tests) and Dockerfile URLs."""

from __future__ import annotations

from pathlib import Path

from tests.contexts.helpers import (DOCKERFILE, assert_one_line_error, build_from, context_files,
                                    context_tar, manifest_exists)
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
