"""Servers for build-context tests, started once per session on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contexts.servers import (
    BucketServer,
    FileServer,
    GitServer,
    serve_files,
    serve_gcs,
    serve_git,
    serve_s3,
)


@pytest.fixture(scope="session")
def file_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FileServer]:
    with serve_files(tmp_path_factory.mktemp("served")) as server:
        yield server


@pytest.fixture(scope="session")
def gcs_server() -> Iterator[BucketServer]:
    with serve_gcs() as server:
        yield server


@pytest.fixture(scope="session")
def s3_server() -> Iterator[BucketServer]:
    with serve_s3() as server:
        yield server


@pytest.fixture(scope="session")
def git_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    root = tmp_path_factory.mktemp("git-served")
    with serve_git(root) as server:
        yield server
