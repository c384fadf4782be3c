"""ADD --unpack=true|false (BuildKit's dockerfile2llb: AttemptUnpack is the flag if given, else
true for context files and false for URLs): archives served on loopback and in the context."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull, pushed
from tests.contexts.servers import FileServer, serve_files
from tests.support.registry import RunningRegistry


def _archive(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o640
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


ARCHIVE = _archive({"inside/a.txt": b"from the archive\n"})
HOSTILE = _archive({"../../escaped.txt": b"out of the destination\n"})


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    directory = tmp_path_factory.mktemp("archives")
    (directory / "app.tar.gz").write_bytes(ARCHIVE)
    (directory / "hostile.tar.gz").write_bytes(HOSTILE)
    with serve_files(directory) as server:
        yield server


def test_add_unpack(tmp_path: Path, registry: RunningRegistry, busybox_image: str, served: FileServer) -> None:
    digest = hashlib.sha256(ARCHIVE).hexdigest()
    dockerfile = f"""\
FROM {busybox_image}
ADD --unpack=true {served.url}/app.tar.gz /unpacked/
ADD --unpack=true --checksum=sha256:{digest} {served.url}/app.tar.gz /checked/
ADD {served.url}/app.tar.gz /downloaded/
ADD --unpack=false local.tar.gz /kept/
ADD local.tar.gz /local/
"""
    _, image = build_and_pull(tmp_path, registry, dockerfile, files={"local.tar.gz": ARCHIVE})
    tree = image.tree()
    assert tree["/unpacked/inside/a.txt"].content == b"from the archive\n"
    assert tree["/unpacked/inside/a.txt"].mode == 0o640
    assert tree["/checked/inside/a.txt"].content == b"from the archive\n"
    assert tree["/downloaded/app.tar.gz"].content == ARCHIVE  # a URL's archive: not by default
    assert tree["/kept/local.tar.gz"].content == ARCHIVE
    assert "/kept/inside/a.txt" not in tree
    assert tree["/local/inside/a.txt"].content == b"from the archive\n"  # a local one: by default


@pytest.mark.parametrize("source, flags, message", [
    ("/hostile.tar.gz", "--unpack=true", "the archive hostile.tar.gz"),
    ("/app.tar.gz", "--unpack=true --checksum=sha256:" + "0" * 64, "checksum mismatch"),
    ("/app.tar.gz", "--unpack=maybe", "expecting boolean value for flag --unpack"),
])
def test_add_unpack_errors(tmp_path: Path, registry: RunningRegistry, busybox_image: str, served: FileServer,
                           source: str, flags: str, message: str) -> None:
    run, destination = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\nADD {flags} {served.url}{source} /x/\n")
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    assert "Dockerfile:3" in run.error_lines[0] and message in run.error_lines[0], run.error_lines[0]
    assert not pushed(registry, destination)
    assert not (run.root / "escaped.txt").exists() and not (run.root.parent / "escaped.txt").exists()
