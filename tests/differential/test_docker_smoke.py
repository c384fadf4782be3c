"""docker itself works here as the reference: it builds FROM the loopback registry, pushes back to it,
and runs what it pushed. The differential tests rest on this."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.docker import RunningDocker, docker_build
from tests.support.executor import write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

pytestmark = pytest.mark.docker

DOCKERFILE = """FROM {base}
RUN echo hi > /hi
COPY greeting.txt /srv/greeting.txt
"""


@pytest.fixture(scope="module")
def smoke_image(docker: RunningDocker, registry: RunningRegistry, busybox_image: str,
                tmp_path_factory: pytest.TempPathFactory) -> str:
    """The smoke Dockerfile built by docker and pushed to the session registry."""
    context = write_context(tmp_path_factory.mktemp("docker-smoke"), DOCKERFILE.format(base=busybox_image),
                            {"greeting.txt": "hello from the context\n"})
    ref = registry.ref("docker/smoke")
    built = docker_build(docker, context, ref, push=True)
    assert built.image_id.startswith("sha256:")
    return ref


def test_docker_builds_from_and_pushes_to_the_loopback_registry(
        smoke_image: str, registry: RunningRegistry, tmp_path: Path) -> None:
    image = pull_image(registry, smoke_image, tmp_path / "pulled")
    assert image.manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert len(image.manifest["layers"]) == 4  # the base's two, RUN's, COPY's
    tree = image.tree()
    assert tree["/hi"].content == b"hi\n"
    assert tree["/srv/greeting.txt"].content == b"hello from the context\n"
    assert (tree["/srv/greeting.txt"].uid, tree["/srv/greeting.txt"].gid) == (0, 0)
    assert tree["/etc/os-release"].content == b"NAME=lamina-busybox\n"  # the base's second layer


def test_docker_runs_the_image_pulled_from_the_loopback_registry(
        smoke_image: str, docker: RunningDocker) -> None:
    docker.run("rmi", smoke_image)  # so that `run` pulls it over plain HTTP from the registry
    result = docker.run("run", "--rm", "--network", "host", smoke_image, "cat", "/hi")
    assert result.stdout == "hi\n"
