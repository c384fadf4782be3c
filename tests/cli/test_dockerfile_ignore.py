"""``<Dockerfile>.dockerignore`` beside the Dockerfile wins over the context's ``.dockerignore``
(only one applies), as in BuildKit and kaniko: ``-f Dockerfile.dev`` reads
``Dockerfile.dev.dockerignore``. Checked against docker build's image, and for a Dockerfile
outside the context."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential.compare import describe, differences
from tests.support.docker import RunningDocker, docker_build
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

DOCKERFILE = "FROM scratch\nCOPY . /ctx/\n"
FILES = {
    "Dockerfile.dev": DOCKERFILE,
    "Dockerfile.dev.dockerignore": "secret.txt\n*.log\nDockerfile*\n",
    ".dockerignore": "keep.txt\nsrc\n",  # would leave out what the Dockerfile's own file keeps
    "keep.txt": "kept\n",
    "secret.txt": "not for the image\n",
    "debug.log": "noise\n",
    "src/main.c": "int main(void) { return 0; }\n",
}


def _context(directory: Path) -> Path:
    context = write_context(directory, DOCKERFILE, FILES)
    (context / "Dockerfile").unlink()  # only Dockerfile.dev: -f must name it
    return context


def _paths(tree: dict[str, object]) -> set[str]:
    return {path for path in tree if path.startswith("/ctx")}


def test_the_dockerfiles_ignore_file_wins(tmp_path: Path, registry: RunningRegistry) -> None:
    ref = registry.ref("dockerignore/beside")
    run = run_executor(tmp_path / "lamina", _context(tmp_path / "context"), "-f", "Dockerfile.dev",
                       "--destination", ref)
    assert run.returncode == 0, run.stderr
    tree = pull_image(registry, ref, tmp_path / "pull").tree()
    assert _paths(tree) == {"/ctx", "/ctx/.dockerignore", "/ctx/keep.txt", "/ctx/src", "/ctx/src/main.c"}


def test_an_ignore_file_beside_a_dockerfile_outside_the_context(tmp_path: Path,
                                                                registry: RunningRegistry) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE, {"a.txt": "a\n", "b.txt": "b\n",
                                                               ".dockerignore": "a.txt\n"})
    elsewhere = tmp_path / "dockerfiles"
    elsewhere.mkdir()
    (elsewhere / "app.Dockerfile").write_text(DOCKERFILE)
    (elsewhere / "app.Dockerfile.dockerignore").write_text("b.txt\nDockerfile\n")
    ref = registry.ref("dockerignore/outside")
    run = run_executor(tmp_path / "lamina", context, "-f", str(elsewhere / "app.Dockerfile"),
                       "--destination", ref)
    assert run.returncode == 0, run.stderr
    assert _paths(pull_image(registry, ref, tmp_path / "pull").tree()) == {
        "/ctx", "/ctx/.dockerignore", "/ctx/a.txt"}


@pytest.mark.docker
def test_same_as_docker_build(tmp_path: Path, registry: RunningRegistry, docker: RunningDocker,
                              busybox_image: str) -> None:
    context = _context(tmp_path / "context")
    # a base docker and lamina agree on (FROM scratch, BuildKit sets WorkingDir "/"; not this test's)
    (context / "Dockerfile.dev").write_text(DOCKERFILE.replace("scratch", busybox_image))
    ours, theirs = registry.ref("dockerignore/lamina"), registry.ref("dockerignore/docker")
    run = run_executor(tmp_path / "lamina", context, "-f", "Dockerfile.dev", "--destination", ours)
    assert run.returncode == 0, run.stderr
    docker_build(docker, context, theirs, "-f", str(context / "Dockerfile.dev"), push=True)
    ours_image = pull_image(registry, ours, tmp_path / "pull-lamina")
    theirs_image = pull_image(registry, theirs, tmp_path / "pull-docker")
    assert "/ctx/secret.txt" not in theirs_image.tree()  # docker applied the Dockerfile's file
    found = differences(ours_image, theirs_image)
    assert found == {}, describe(found, "docker")
