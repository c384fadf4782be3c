"""Hostile build contexts: a symlink in a merge request never makes the build read a file outside
the context. Sources are resolved with the context as their root, as BuildKit does.

docker build (BuildKit, docker 20.10) on the same contexts, recorded beside each case and checked
again by ``test_docker_agrees`` (the ``docker`` marker):
- ``link -> target.txt`` and ``abslink -> /target.txt``: COPY copies the context's target.txt as a
  regular file (both).
- ``leak -> /<outside>/file``, ``climb -> ../../<outside>/file``, ``lea*`` matching ``leak``, a
  bind mount of ``leak``: ``ERROR: "/<outside>/file" not found``; ``dirlink -> /<outside>`` then
  ``dirlink/file``: ``"/dirlink/file" not found``, ``dirlink``: ``"/<outside>" not found``.
- ``COPY sub /sub`` with ``sub/rel -> ../target.txt``: the link is kept as a link.
- a Dockerfile that is a link outside: ``failed to read dockerfile: ... no such file``; a
  .dockerignore that is a link outside: no patterns (the outside file's content is never read)."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from tests.hostile.conftest import CANARY_TEXT, Canary, pushed
from tests.support.executor import write_context
from tests.support.inprocess import build_in_process
from tests.support.registry import RunningRegistry


def _context(tmp_path: Path, dockerfile: str, links: dict[str, str]) -> Path:
    context = write_context(tmp_path / "context", dockerfile, {"target.txt": "in the context\n",
                                                               "sub/plain.txt": "plain\n"})
    for name, target in links.items():
        os.symlink(target, context / name)
    return context


def _build(tmp_path: Path, registry: RunningRegistry, context: Path):
    destination = registry.ref("hostile/context", tmp_path.name[-24:].lower().strip("_-"))
    return build_in_process(tmp_path, context, "--destination", destination), destination


def test_named_links_are_followed_inside_the_context(tmp_path: Path, registry: RunningRegistry,
                                                     busybox_image: str) -> None:
    context = _context(tmp_path, f"FROM {busybox_image}\nCOPY link /from-link\nCOPY abslink /from-abslink\n"
                       "COPY sub /sub\n", {"link": "target.txt", "abslink": "/target.txt",
                                           "sub/rel": "../target.txt"})
    run, destination = _build(tmp_path, registry, context)
    assert run.returncode == 0, run.error_lines
    root = tmp_path / "root"
    for name in ("from-link", "from-abslink"):
        assert not (root / name).is_symlink() and (root / name).read_text() == "in the context\n"
    assert os.readlink(root / "sub/rel") == "../target.txt"  # inside a copied directory: a link
    assert pushed(destination)


@pytest.mark.parametrize("source,link", [
    ("leak", "{outside}/file"),  # absolute, to a file outside
    ("climb", "../../../../../../..{outside}/file"),  # climbing with ..
    ("dirlink/file", "{outside}"),  # a directory link crossed on the way
    ("dirlink/", "{outside}"),  # the directory link itself
    ("dirlink", "{outside}"),
    ("lea*", "{outside}/file"),  # matched by a wildcard
])
def test_links_out_of_the_context_are_not_found(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str, canary: Canary,
                                                 source: str, link: str) -> None:
    name = source.split("/")[0].rstrip("*") + ("k" if source.startswith("lea*") else "")
    context = _context(tmp_path, f"FROM {busybox_image}\nCOPY {source} /copied\n",
                       {name: link.format(outside=canary.directory)})
    run, destination = _build(tmp_path, registry, context)
    assert run.returncode != 0
    [line] = run.error_lines
    assert CANARY_TEXT.strip() not in line and ":2:" in line
    assert not pushed(destination)
    assert not (tmp_path / "root" / "copied").exists()
    assert canary.intact()


def test_a_dockerfile_linked_out_of_the_context_is_not_read(tmp_path: Path, registry: RunningRegistry,
                                                            canary: Canary) -> None:
    (canary.directory / "file").write_text("FROM hostsecret\n")
    context = tmp_path / "context"
    context.mkdir()
    os.symlink(canary.directory / "file", context / "Dockerfile")
    run, destination = _build(tmp_path, registry, context)
    [line] = run.error_lines
    assert "does not exist" in line and "hostsecret" not in line
    assert not any("hostsecret" in message for message in run.messages)


def test_a_dockerignore_linked_out_of_the_context_is_not_read(tmp_path: Path, registry: RunningRegistry,
                                                              busybox_image: str, canary: Canary) -> None:
    (canary.directory / "file").write_text("[bad-pattern-from-the-host\n")
    context = _context(tmp_path, f"FROM {busybox_image}\nCOPY target.txt /t\n",
                       {".dockerignore": str(canary.directory / "file")})
    run, destination = _build(tmp_path, registry, context)
    assert run.returncode == 0, run.error_lines
    assert not any("bad-pattern-from-the-host" in message for message in run.messages)
    assert pushed(destination)


def test_a_bind_mount_of_a_link_out_of_the_context_is_not_found(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, canary: Canary) -> None:
    context = _context(tmp_path, f"FROM {busybox_image}\n"
                       "RUN --mount=type=bind,source=leak,target=/mnt/leak cat /mnt/leak > /seen\n",
                       {"leak": str(canary.directory / "file")})
    run, destination = _build(tmp_path, registry, context)
    seen = tmp_path / "root" / "seen"
    assert not (seen.exists() and CANARY_TEXT in seen.read_text())
    assert run.returncode != 0 and not pushed(destination)
    assert canary.intact()


DOCKER_CASES = {  # name: (Dockerfile after FROM, links, docker and lamina both succeed)
    "follow": ("COPY link /from-link\nCOPY abslink /from-abslink\nCOPY sub /sub\n",
               {"link": "target.txt", "abslink": "/target.txt", "sub/rel": "../target.txt"}, True),
    "leak": ("COPY leak /copied\n", {"leak": "{outside}/file"}, False),
    "climb": ("COPY climb /copied\n", {"climb": "../../../../../../..{outside}/file"}, False),
    "dirlink-file": ("COPY dirlink/file /copied\n", {"dirlink": "{outside}"}, False),
    "dirlink": ("COPY dirlink /copied\n", {"dirlink": "{outside}"}, False),
    "wildcard": ("COPY lea* /copied\n", {"leak": "{outside}/file"}, False),
    "bind": ("RUN --mount=type=bind,source=leak,target=/mnt/leak cat /mnt/leak\n",
             {"leak": "{outside}/file"}, False),
}


@pytest.mark.docker
@pytest.mark.parametrize("case", sorted(DOCKER_CASES))
def test_docker_agrees(tmp_path: Path, registry: RunningRegistry, busybox_image: str, canary: Canary,
                       docker: object, case: str) -> None:
    from tests.support.docker import DockerError, RunningDocker, docker_build
    assert isinstance(docker, RunningDocker)
    steps, links, succeeds = DOCKER_CASES[case]
    context = _context(tmp_path, f"FROM {busybox_image}\n{steps}",
                       {name: target.format(outside=canary.directory) for name, target in links.items()})
    try:
        built = docker_build(docker, context, f"lamina-hostile/{case}")
        docker_ok, docker_log = True, built.log
    except DockerError as error:
        docker_ok, docker_log = False, error.output
    run, _ = _build(tmp_path, registry, context)
    assert docker_ok is succeeds and (run.returncode == 0) is succeeds, (docker_log[-500:], run.error_lines)
    assert "the host's own file" not in docker_log and canary.intact()
    if not succeeds:
        assert "not found" in docker_log and "not found" in run.error_lines[0]


def test_a_tar_context_link_out_of_the_context_is_not_found(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, canary: Canary) -> None:
    # remote contexts (tar, stdin, gs, s3, https, git) are unpacked under the kaniko dir and then
    # read as a directory context is: the same resolution inside the context
    source = _context(tmp_path / "src", f"FROM {busybox_image}\nCOPY leak /copied\n",
                      {"leak": str(canary.directory / "file")})
    archive = tmp_path / "context.tar"
    with tarfile.open(archive, "w") as tar:
        for path in sorted(source.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(source)), recursive=False)
    destination = registry.ref("hostile/context-tar")
    run = build_in_process(tmp_path, f"tar://{archive}", "--destination", destination)
    assert run.returncode != 0 and "not found" in run.error_lines[0] and ":2:" in run.error_lines[0]
    assert not pushed(destination) and canary.intact()
    assert not any(CANARY_TEXT.strip() in message for message in run.messages)
