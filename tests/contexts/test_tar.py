"""tar://PATH and tar://stdin: archives unpacked under the kaniko dir, safely, and built from."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.contexts.helpers import (
    DOCKERFILE,
    assert_one_line_error,
    build_from,
    context_files,
    context_tar,
    manifest_exists,
)
from tests.support.registry import RunningRegistry


def test_tar_gz_file_with_sub_path(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    archive = tmp_path / "ctx.tar.gz"
    archive.write_bytes(context_tar({"app/Dockerfile": DOCKERFILE, "app/marker.txt": "from the tar.gz\n",
                                     "app/.wh.not-a-whiteout": "a plain file\n",
                                     "elsewhere.txt": "outside the sub path\n"}))
    run, dest = build_from(tmp_path, registry, busybox_image, f"tar://{archive}",
                           "--context-sub-path", "app")
    assert run.returncode == 0, run.stderr
    # The Dockerfile came from the sub path; only the sub path's files are in the context.
    files = context_files(registry, dest, tmp_path)
    assert files["Dockerfile"] == DOCKERFILE.encode() and files["marker.txt"] == b"from the tar.gz\n"
    assert "elsewhere.txt" not in files and "app/marker.txt" not in files
    # Unpacked where kaniko unpacks; a context archive has no whiteouts: .wh. files are files
    # (an image layer cannot carry one, so the context directory is where to look).
    unpacked = run.kaniko_dir / "buildcontext/app"
    assert (unpacked / ".wh.not-a-whiteout").read_text() == "a plain file\n"


def test_plain_tar_from_stdin(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    archive = context_tar({"marker.txt": "piped in\n", "sub/deep.txt": "deep\n"}, gz=False)
    run, dest = build_from(tmp_path, registry, busybox_image, "tar://stdin", stdin=archive)
    assert run.returncode == 0, run.stderr
    assert context_files(registry, dest, tmp_path) == {
        "Dockerfile": DOCKERFILE.encode(), "marker.txt": b"piped in\n", "sub/deep.txt": b"deep\n"}


def test_stdin_terminal_is_refused(tmp_path: Path) -> None:
    primary, secondary = os.openpty()
    try:
        result = subprocess.run(
            [sys.executable, "-m", "executor", "--context", "tar://stdin", "--no-push",
             "--root", str(tmp_path / "root"), "--kaniko-dir", str(tmp_path / "kaniko")],
            stdin=secondary, capture_output=True, text=True, timeout=60)
    finally:
        os.close(primary)
        os.close(secondary)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "terminal" in errors[0] and "tar://stdin" in errors[0], result.stderr


def _evil_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in (("Dockerfile", DOCKERFILE.encode()), ("../../escaped.txt", b"pwned\n")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _symlink_escape_tar() -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as tar:
        link = tarfile.TarInfo("up")
        link.type, link.linkname = tarfile.SYMTYPE, "../../.."
        tar.addfile(link)
        data = b"pwned\n"
        info = tarfile.TarInfo("up/tmp/escaped.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def test_traversal_tarballs_are_refused(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    for name, archive in (("dotdot", _evil_tar()), ("symlink", _symlink_escape_tar())):
        work = tmp_path / name
        work.mkdir()
        path = work / "evil.tar.gz"
        path.write_bytes(archive)
        run, dest = build_from(work, registry, busybox_image, f"tar://{path}")
        assert_one_line_error(run, f"tar://{path}", "outside the context")
        assert not manifest_exists(registry, dest)
        assert not list(tmp_path.rglob("escaped.txt"))


def test_corrupt_and_missing_tarballs(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    good = context_tar({"marker.txt": "x" * 100_000})
    cases = {"truncated.tar.gz": good[: len(good) // 2], "garbage.tar": b"this is not a tar archive\n" * 50}
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
    for name, fragment in (("truncated.tar.gz", "not a valid tar"), ("garbage.tar", "not a valid tar"),
                           ("missing.tar.gz", "No such file")):
        work = tmp_path / name.replace(".", "-")
        work.mkdir()
        run, dest = build_from(work, registry, busybox_image, f"tar://{tmp_path / name}")
        assert_one_line_error(run, f"tar://{tmp_path / name}", fragment)
        assert not manifest_exists(registry, dest)
