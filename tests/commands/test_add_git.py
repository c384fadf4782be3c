"""ADD <git URL> from a real ``git http-backend`` on loopback: branch, tag, commit, subdir,
--keep-git-dir, --checksum, credentials and the cache key's commit, each read back from the image."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.commands.support import build, build_and_pull, pushed
from tests.contexts.helpers import commit_files, git, publish
from tests.contexts.servers import GitServer, serve_git
from tests.support.registry import RunningRegistry

pytestmark = pytest.mark.slow  # clones and builds: some seconds each


@dataclass(frozen=True)
class Repo:
    server: GitServer
    url: str  # http://127.0.0.1:PORT/app.git
    first: str  # the commit tagged v1
    main: str
    work: Path


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Repo]:
    served = tmp_path_factory.mktemp("git-served")
    work = tmp_path_factory.mktemp("git-work") / "app"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    first = commit_files(work, "one", {"hello.txt": "one\n", "sub/inner.txt": "inner one\n",
                                       "run.sh": "#!/bin/sh\necho hi\n"})
    (work / "run.sh").chmod(0o755)
    (work / "link").symlink_to("hello.txt")
    git(work, "add", "-A")
    git(work, "commit", "-q", "--amend", "-m", "one")
    first = git(work, "rev-parse", "HEAD")
    git(work, "tag", "-a", "-m", "release one", "v1")
    main = commit_files(work, "two", {"hello.txt": "two\n"})
    git(work, "checkout", "-q", "-b", "feature")
    commit_files(work, "feature", {"sub/inner.txt": "inner feature\n"})
    git(work, "checkout", "-q", "main")
    publish(work, served / "app.git")
    shutil.copytree(served / "app.git", served / "private/app.git")
    with serve_git(served) as server:
        yield Repo(server, f"http://{server.host}/app.git", first, main, work)


def test_add_git_refs_subdir_keep_git_dir_checksum(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_image: str, repo: Repo) -> None:
    dockerfile = f"""\
FROM {busybox_image}
ADD {repo.url} /main/
ADD {repo.url}#v1 /tag/
ADD {repo.url}#feature:sub /feature-sub
ADD {repo.url}#{repo.first} /commit/
ADD {repo.url}?branch=feature&subdir=sub /query/
ADD --keep-git-dir=true {repo.url}#main /kept/
ADD --checksum={repo.main[:12]} --chown=1:2 {repo.url}#main /checked/
"""
    _, image = build_and_pull(tmp_path, registry, dockerfile)
    tree = image.tree()
    assert tree["/main/hello.txt"].content == b"two\n"
    assert (tree["/main/hello.txt"].mode, tree["/main/run.sh"].mode) == (0o644, 0o755)
    assert (tree["/main/link"].kind, tree["/main/link"].target) == ("symlink", "hello.txt")
    assert (tree["/main/hello.txt"].uid, tree["/main/hello.txt"].gid) == (0, 0)
    assert not any(path.startswith("/main/.git") for path in tree)
    assert tree["/tag/hello.txt"].content == b"one\n"  # an annotated tag, peeled to its commit
    assert tree["/feature-sub/inner.txt"].content == b"inner feature\n"
    assert "/feature-sub/hello.txt" not in tree
    assert tree["/commit/hello.txt"].content == b"one\n"
    assert tree["/query/inner.txt"].content == b"inner feature\n"
    assert tree["/kept/.git/HEAD"].kind == "file"
    assert tree["/kept/hello.txt"].content == b"two\n"
    checked = tree["/checked/hello.txt"]
    assert (checked.content, checked.uid, checked.gid) == (b"two\n", 1, 2)


def test_add_git_with_credentials_in_the_url(tmp_path: Path, registry: RunningRegistry,
                                              busybox_image: str, repo: Repo) -> None:
    server = repo.server
    url = f"http://{server.username}:{server.password}@{server.host}/private/app.git#main"
    run, image = build_and_pull(tmp_path, registry, f"FROM {busybox_image}\nADD {url} /src/\n")
    assert image.tree()["/src/hello.txt"].content == b"two\n"
    # only the instruction as written (the step's log line) says it; never git's lines
    leaks = [line for line in (run.stderr + run.stdout).splitlines() if server.password in line]
    assert leaks and all(f"ADD http://{server.username}:" in line for line in leaks), leaks


def test_add_git_with_buildkits_token_secret(tmp_path: Path, registry: RunningRegistry,
                                            busybox_image: str, repo: Repo) -> None:
    """BuildKit's GIT_AUTH_TOKEN.<host> secret authenticates an ADD of a private repository; the
    executor's GIT_TOKEN (the git context's) is not sent there."""
    server = repo.server
    url = f"http://{server.host}/private/app.git#v1"
    dockerfile = f"FROM {busybox_image}\nADD {url} /src/\n"
    denied, _ = build(tmp_path / "env", registry, dockerfile, env={"GIT_TOKEN": server.token})
    assert denied.returncode != 0 and "authentication failed" in denied.stderr, denied.stderr
    host = server.host.partition(":")[0]
    run, image = build_and_pull(tmp_path, registry, dockerfile, "--secret", f"id=GIT_AUTH_TOKEN.{host},env=TOKEN",
                                env={"TOKEN": server.token})
    assert image.tree()["/src/hello.txt"].content == b"one\n"
    assert server.token not in run.stderr + run.stdout


@pytest.mark.parametrize("source, message", [
    ("#main", "expected checksum to match 0123abcd, got "),
    ("#no-such-branch", "unknown ref 'no-such-branch'"),
    ("#main:missing", "subdirectory 'missing' is not a directory"),
])
def test_add_git_errors(tmp_path: Path, registry: RunningRegistry, busybox_image: str, repo: Repo,
                        source: str, message: str) -> None:
    flag = "--checksum=0123abcd " if "checksum" in message else ""
    run, destination = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\nADD {flag}{repo.url}{source} /x/\n")
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    assert "Dockerfile:3:" in run.error_lines[0] and message in run.error_lines[0], run.error_lines[0]
    assert "Traceback" not in run.stderr
    assert not pushed(registry, destination)


def test_add_git_cache_key_holds_the_commit(tmp_path: Path, registry: RunningRegistry,
                                            busybox_image: str, repo: Repo) -> None:
    """The same ADD line after the branch moved is a cache miss: the key holds the commit."""
    cache = tmp_path / "cache"
    flags = ("--cache=true", "--cache-copy-layers=true", f"--cache-repo=oci:{cache}")
    work = repo.work
    git(work, "checkout", "-q", "-b", "moving", "main")
    git(work, "push", "-q", str(repo.server.root / "app.git"), "moving")
    dockerfile = f"FROM {busybox_image}\nADD {repo.url}#moving /src/\n"
    _, first = build_and_pull(tmp_path / "one", registry, dockerfile, *flags)
    assert first.tree()["/src/hello.txt"].content == b"two\n"
    commit_files(work, "moved", {"hello.txt": "moved\n"})
    git(work, "push", "-q", str(repo.server.root / "app.git"), "moving")
    git(work, "checkout", "-q", "main")
    run, second = build_and_pull(tmp_path / "two", registry, dockerfile, *flags)
    assert second.tree()["/src/hello.txt"].content == b"moved\n", run.stderr
