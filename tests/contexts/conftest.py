"""Servers for build-context tests, started once per session on loopback."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.contexts.servers import (
    AzuriteServer,
    BucketServer,
    FileServer,
    GitServer,
    self_signed_certificate,
    serve_azurite,
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


@pytest.fixture(scope="session")
def azurite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzuriteServer]:
    with serve_azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture(scope="session")
def git_tls_server(git_server: GitServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[GitServer]:
    """The repositories of ``git_server``, also served over https with a self-signed certificate."""
    certificate = self_signed_certificate(tmp_path_factory.mktemp("git-tls"))
    with serve_git(git_server.root, tls=certificate) as server:
        yield server
