"""Fixtures that start real things on loopback: a registry and base images pushed to it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.docker import RunningDocker, start_dockerd
from tests.support.images import push_busybox
from tests.support.programs import compile_programs
from tests.support.registry import RunningRegistry, run_registry


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    """A plain-HTTP, anonymous docker-registry on a free 127.0.0.1 port, for the whole session."""
    with run_registry(tmp_path_factory.mktemp("registry")) as running:
        yield running


@pytest.fixture(scope="session")
def busybox_image(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``HOST/busybox:latest``: Debian's busybox-static root in two layers, Docker schema2."""
    return push_busybox(registry, tmp_path_factory.mktemp("busybox"))


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture(scope="session")
def debian_image(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``HOST/debian:bookworm``: debootstrap's minbase root (cached per machine) in one layer."""
    from tests.support.debian import push_debian

    return push_debian(registry, tmp_path_factory.mktemp("debian"))


@pytest.fixture(scope="session")
def git_ssh_image(registry: RunningRegistry, debian_image: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """``HOST/ssh/git:bookworm``: the Debian base with git and openssh-client (RUN --mount=type=ssh)."""
    from tests.support.sshd import push_git_image

    return push_git_image(registry, debian_image, tmp_path_factory.mktemp("git-image"))


@pytest.fixture(scope="session")
def docker(registry: RunningRegistry, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDocker]:
    """A private dockerd (Debian's docker.io, BuildKit) that trusts the session registry over plain
    HTTP; started the first time a test asks for it, stopped with nothing left at the session's end."""
    with start_dockerd(tmp_path_factory.mktemp("docker"), insecure_registries=[registry.host]) as running:
        yield running


@pytest.fixture(scope="session")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Static attack programs (tests/support/programs.py), compiled once a session."""
    return compile_programs(tmp_path_factory.mktemp("programs"))
