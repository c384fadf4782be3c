"""--build-context NAME=VALUE (buildx's): a directory (with its own .dockerignore), an image
(docker-image://, the loopback registry's busybox), an OCI layout written by skopeo, a git
checkout and a downloaded file, read by FROM, COPY --from and RUN --mount=from, and a stage of the
same name replaced; each build's image read back."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull, pushed
from tests.contexts.helpers import commit_files, git, publish
from tests.contexts.servers import FileServer, GitServer, serve_files, serve_git
from tests.support.registry import RunningRegistry

pytestmark = pytest.mark.slow  # a handful of builds with pulls: some seconds each


def _named_dir(path: Path, hello: str = "hello from the named dir\n") -> Path:
    path.mkdir(parents=True, exist_ok=True)
    (path / "hello.txt").write_text(hello)
    (path / "ignored.txt").write_text("left out by its own .dockerignore\n")
    (path / ".dockerignore").write_text("ignored.txt\n")
    return path


@pytest.fixture(scope="module")
def layout(busybox_image: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The registry's busybox as an OCI layout, tagged "v1" (skopeo copy to oci:DIR:TAG)."""
    directory = tmp_path_factory.mktemp("layout") / "busybox"
    subprocess.run(["skopeo", "copy", "--src-tls-verify=false", f"docker://{busybox_image}",
                    f"oci:{directory}:v1"], check=True, capture_output=True)
    return directory


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GitServer, FileServer]]:
    served = tmp_path_factory.mktemp("git-served")
    work = tmp_path_factory.mktemp("git-work") / "lib"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit_files(work, "lib", {"lib/version.txt": "lib 1.0\n"})
    publish(work, served / "lib.git")
    files = tmp_path_factory.mktemp("files")
    (files / "notes.txt").write_text("downloaded notes\n")
    with serve_git(served) as git_server, serve_files(files) as file_server:
        yield git_server, file_server


def test_named_contexts_in_from_copy_and_run_mount(tmp_path: Path, registry: RunningRegistry,
                                                   busybox_image: str, layout: Path,
                                                   servers: tuple[GitServer, FileServer]) -> None:
    git_server, file_server = servers
    named = _named_dir(tmp_path / "named")
    dockerfile = """\
FROM alpine:3.0 AS replaced
RUN false

FROM base
COPY --from=files / /all/
COPY --from=replaced /hello.txt /from-replaced.txt
COPY --from=layout /bin/busybox /from-layout
COPY --from=lib /version.txt /lib-version.txt
COPY --from=web /context /web.txt
RUN --mount=from=files,target=/mnt cat /mnt/hello.txt > /mounted.txt
"""
    _, image = build_and_pull(
        tmp_path, registry, dockerfile,
        "--build-context", f"base=docker-image://{busybox_image}",
        "--build-context", f"files={named}", "--build-context", f"replaced=dir://{named}",
        "--build-context", f"layout=oci-layout://{layout}:v1",
        "--build-context", f"lib=http://{git_server.host}/lib.git#main:lib",
        "--build-context", f"web={file_server.url}/notes.txt")
    tree = image.tree()
    assert tree["/bin/busybox"].kind == "file"  # FROM base: the docker-image:// context
    assert tree["/all/hello.txt"].content == b"hello from the named dir\n"
    assert (tree["/all/hello.txt"].uid, tree["/all/hello.txt"].gid) == (0, 0)
    assert "/all/ignored.txt" not in tree  # the named directory's own .dockerignore
    assert tree["/from-replaced.txt"].content == b"hello from the named dir\n"  # RUN false never ran
    assert tree["/from-layout"].content == tree["/bin/busybox"].content
    assert tree["/lib-version.txt"].content == b"lib 1.0\n"
    assert tree["/web.txt"].content == b"downloaded notes\n"
    assert tree["/mounted.txt"].content == b"hello from the named dir\n"


def test_from_an_oci_layout_and_from_a_directory(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str, layout: Path) -> None:
    named = _named_dir(tmp_path / "named")
    dockerfile = "FROM files AS files-stage\n\nFROM layout\nCOPY --from=files-stage / /copied/\nRUN echo ran > /ran.txt\n"
    _, image = build_and_pull(tmp_path, registry, dockerfile, "--build-context", f"layout=oci-layout://{layout}:v1",
                              "--build-context", f"files={named}")
    tree = image.tree()
    assert tree["/ran.txt"].content == b"ran\n"  # a RUN in the layout's busybox
    assert tree["/copied/hello.txt"].content == b"hello from the named dir\n"  # FROM a directory
    assert "/copied/ignored.txt" not in tree


def test_a_changed_named_directory_is_a_cache_miss(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_image: str) -> None:
    named = _named_dir(tmp_path / "named", "first\n")
    flags = ("--cache=true", f"--cache-repo=oci:{tmp_path / 'cache'}", "--build-context", f"files={named}")
    dockerfile = f"FROM {busybox_image}\nRUN --mount=from=files,target=/mnt cat /mnt/hello.txt > /seen.txt\n"
    _, first = build_and_pull(tmp_path / "one", registry, dockerfile, *flags)
    assert first.tree()["/seen.txt"].content == b"first\n"
    (named / "hello.txt").write_text("second\n")
    _, second = build_and_pull(tmp_path / "two", registry, dockerfile, *flags)
    assert second.tree()["/seen.txt"].content == b"second\n"


@pytest.mark.parametrize("value, message", [
    ("ftp://example.com/x", "unknown scheme ftp://"),
    ("/no/such/directory", "no such directory /no/such/directory"),
    ("oci-layout:///no/such/layout", "is not an OCI layout"),
])
def test_bad_named_contexts_fail_before_the_build(tmp_path: Path, registry: RunningRegistry,
                                                  busybox_image: str, value: str, message: str) -> None:
    run, destination = build(tmp_path, registry, f"FROM {busybox_image}\nCOPY --from=x / /x/\n",
                             "--build-context", f"x={value}")
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and message in run.error_lines[0], run.stderr
    assert "Traceback" not in run.stderr
    assert not pushed(registry, destination)


def test_a_missing_layout_tag_is_one_line(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                          layout: Path) -> None:
    run, destination = build(tmp_path, registry, "FROM layout\nRUN true\n",
                             "--build-context", f"layout=oci-layout://{layout}:nope")
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and "no image tagged 'nope' (tags: v1)" in run.error_lines[0], run.stderr
    assert not pushed(registry, destination)


def test_provenance_does_not_look_up_a_named_context_as_an_image(tmp_path: Path, registry: RunningRegistry,
                                                                 busybox_image: str, layout: Path) -> None:
    # "FROM layout" names the --build-context, not an image called "layout" on Docker Hub
    run, _ = build(tmp_path, registry, "FROM layout\nRUN echo ran > /ran.txt\n", "--provenance",
                   "--build-context", f"layout=oci-layout://{layout}:v1")
    assert run.returncode == 0, run.error_lines
    assert "left out" not in run.stderr, run.stderr
