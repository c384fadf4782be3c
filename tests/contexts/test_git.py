"""git:// contexts cloned over http from a real ``git http-backend``: refs, commits, branches,
submodules and credentials, each proven by the files that ended up in the image."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from executor.contexts import ContextError, parse_context
from executor.contexts.git import GitOptions, GitRepository, _git_environment
from tests.contexts.helpers import (
    DOCKERFILE,
    assert_one_line_error,
    build_from,
    commit_files,
    context_files,
    git,
    manifest_exists,
    publish,
)
from tests.contexts.servers import GitServer
from tests.support.registry import RunningRegistry

pytestmark = pytest.mark.slow  # a dozen clones and builds: about half a minute in all

HTTP = {"GIT_PULL_METHOD": "http"}


@dataclass(frozen=True)
class Repos:
    server: GitServer
    old: str  # first commit on main
    main: str  # main's tip
    feature: str
    pull: str  # the commit refs/pull/7/head points to


@pytest.fixture(scope="module")
def repos(git_server: GitServer, tmp_path_factory: pytest.TempPathFactory) -> Repos:
    work = tmp_path_factory.mktemp("git-work") / "app"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    old = commit_files(work, "old", {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n",
                                     "marker.txt": "main, first commit\n"})
    git(work, "tag", "-a", "-m", "release one", "v1")
    main = commit_files(work, "new", {"marker.txt": "main, tip\n"})
    git(work, "checkout", "-q", "-b", "feature")
    feature = commit_files(work, "feature", {"marker.txt": "feature branch\n", "sub/feature.txt": "f\n"})
    git(work, "checkout", "-q", "-b", "pr", "main")
    pull = commit_files(work, "a pull request", {"marker.txt": "pull request 7\n"})
    git(work, "checkout", "-q", "main")
    publish(work, git_server.root / "app.git")
    git(work, "push", "-q", str(git_server.root / "app.git"), "pr:refs/pull/7/head")
    git(git_server.root / "app.git", "branch", "-D", "pr")
    shutil.copytree(git_server.root / "app.git", git_server.root / "private/app.git")

    lib = work.parent / "lib"
    lib.mkdir()
    git(lib, "init", "-q", "-b", "main")
    commit_files(lib, "lib", {"lib.txt": "from the submodule\n"})
    publish(lib, git_server.root / "lib.git")
    outer = work.parent / "outer"
    outer.mkdir()
    git(outer, "init", "-q", "-b", "main")
    git(outer, "-c", "protocol.file.allow=always", "submodule", "add", "-q", str(lib), "vendor/lib")
    git(outer, "config", "-f", ".gitmodules", "submodule.vendor/lib.url", "../lib.git")
    commit_files(outer, "with a submodule", {"Dockerfile": DOCKERFILE, ".dockerignore": ".git\n**/.git\n",
                                             "marker.txt": "superproject\n"})
    publish(outer, git_server.root / "outer.git")
    return Repos(git_server, old=old, main=main, feature=feature, pull=pull)


@pytest.mark.parametrize("fragment, flags, marker", [
    ("", (), "main, tip\n"),
    ("refs/heads/feature", (), "feature branch\n"),
    ("refs/tags/v1", ("--git", "single-branch=true"), "main, first commit\n"),
    ("refs/pull/7/head", (), "pull request 7\n"),
    ("refs/heads/main#{old}", (), "main, first commit\n"),
    ("refs/heads/main", ("--git", "branch=feature", "--git", "single-branch=true"), "feature branch\n"),
])
def test_ref_and_commit_select_the_files(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                         repos: Repos, fragment: str, flags: tuple[str, ...],
                                         marker: str) -> None:
    context = repos.server.context("app.git", fragment.format(old=repos.old))
    run, dest = build_from(tmp_path, registry, busybox_image, context, *flags, env=HTTP)
    assert run.returncode == 0, run.stderr
    files = context_files(registry, dest, tmp_path)
    assert files["marker.txt"] == marker.encode()
    assert ("sub/feature.txt" in files) == (marker == "feature branch\n")
    assert not any(name.startswith(".git/") for name in files)  # the repo's .dockerignore applied


def test_recurse_submodules(tmp_path: Path, registry: RunningRegistry, busybox_image: str, repos: Repos) -> None:
    context = repos.server.context("outer.git")
    run, dest = build_from(tmp_path, registry, busybox_image, context,
                           "--git", "recurse-submodules=true", env=HTTP)
    assert run.returncode == 0, run.stderr
    files = context_files(registry, dest, tmp_path)
    assert files["marker.txt"] == b"superproject\n"
    assert files["vendor/lib/lib.txt"] == b"from the submodule\n"


@pytest.mark.parametrize("credentials", ["password", "token"])
def test_private_repository_with_credentials(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                             repos: Repos, credentials: str) -> None:
    server = repos.server
    env = dict(HTTP, GIT_USERNAME=server.username, GIT_PASSWORD=server.password)
    secret = server.password
    if credentials == "token":
        env, secret = dict(HTTP, GIT_TOKEN=server.token), server.token
    run, dest = build_from(tmp_path, registry, busybox_image, server.context("private/app.git"),
                           "--verbosity", "debug", env=env)
    assert run.returncode == 0, run.stderr
    assert context_files(registry, dest, tmp_path)["marker.txt"] == b"main, tip\n"
    assert secret not in run.stderr + run.stdout  # in no log line, even at debug
    assert server.seen_authorization  # sent as a header, not in the URL


def test_bad_credentials(tmp_path: Path, registry: RunningRegistry, busybox_image: str, repos: Repos) -> None:
    for name, env in (("wrong", dict(HTTP, GIT_USERNAME="ci", GIT_PASSWORD="wrong-password")),
                      ("none", HTTP)):
        work = tmp_path / name
        work.mkdir()
        run, dest = build_from(work, registry, busybox_image, repos.server.context("private/app.git"),
                               env=env)
        line = assert_one_line_error(run, "git://", "private/app.git", "authentication failed")
        assert "wrong-password" not in run.stderr, line
        assert not manifest_exists(registry, dest)


@pytest.mark.parametrize("context, flags, fragment", [
    ("app.git#refs/heads/no-such-branch", (), "unknown ref 'refs/heads/no-such-branch'"),
    ("app.git", ("--git", "branch=nope"), "unknown branch or tag 'nope'"),
    ("app.git#refs/heads/main#0123456789abcdef0123456789abcdef01234567", (), "unknown commit"),
    ("missing.git", (), "git://"),
])
def test_unknown_ref_commit_or_repository(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                          repos: Repos, context: str, flags: tuple[str, ...],
                                          fragment: str) -> None:
    run, dest = build_from(tmp_path, registry, busybox_image, f"git://{repos.server.host}/{context}",
                           *flags, env=HTTP)
    assert_one_line_error(run, f"git://{repos.server.host}/", fragment)
    assert not manifest_exists(registry, dest)


# --- --git depth= and insecure-skip-tls= ---------------------------------------------------

def _clone(tmp_path: Path, context: str, options: GitOptions,
           env: dict[str, str] | None = None) -> Path:
    """Fetch the context straight into a directory, as the executor does before a build."""
    repository = parse_context(context, options)
    assert isinstance(repository, GitRepository)
    into = tmp_path / "clone"
    into.mkdir(parents=True)
    repository.fetch(into, {**os.environ, **(env if env is not None else HTTP)})
    return into


@pytest.mark.parametrize("fragment, depth, history", [
    ("", 0, 2),  # the whole history of main
    ("", 1, 1),
    ("refs/tags/v1", 1, 1),
    ("refs/pull/7/head", 1, 1),
    ("refs/heads/main#{old}", 1, 1),  # a commit below the shallow tip: fetched by id, shallow
])
def test_depth_gives_a_shallow_clone(tmp_path: Path, repos: Repos, fragment: str, depth: int,
                                     history: int) -> None:
    context = repos.server.context("app.git", fragment.format(old=repos.old))
    clone = _clone(tmp_path, context, GitOptions(depth=depth))
    assert git(clone, "rev-list", "--count", "HEAD") == str(history)
    assert (clone / ".git/shallow").exists() == bool(depth)
    if not fragment:
        # as go-git's Depth, which leaves SingleBranch off: the other branches come too, shallow
        assert "origin/feature" in git(clone, "branch", "-r")


def test_depth_with_single_branch(tmp_path: Path, repos: Repos) -> None:
    clone = _clone(tmp_path, repos.server.context("app.git"), GitOptions(depth=1, single_branch=True))
    assert git(clone, "rev-list", "--count", "HEAD") == "1"
    assert "origin/feature" not in git(clone, "branch", "-r")


def test_self_signed_https_needs_insecure_skip_tls(tmp_path: Path, repos: Repos,
                                                   git_tls_server: GitServer) -> None:
    context = git_tls_server.context("app.git")
    with pytest.raises(ContextError, match="certificate"):
        _clone(tmp_path / "verified", context, GitOptions(), env={})
    clone = _clone(tmp_path / "skipped", context, GitOptions(insecure_skip_tls=True), env={})
    assert (clone / "marker.txt").read_text() == "main, tip\n"
    # only the context's host is trusted blindly: the setting is scoped to it
    repository = parse_context(context, GitOptions(insecure_skip_tls=True))
    assert isinstance(repository, GitRepository)
    env = _git_environment(repository.url({}), {}, skip_tls=True)
    assert env["GIT_CONFIG_KEY_0"] == f"http.https://{git_tls_server.host}/.sslVerify"
    assert env["GIT_CONFIG_VALUE_0"] == "false" and "GIT_SSL_NO_VERIFY" not in env


def test_depth_and_insecure_skip_tls_through_the_executor(tmp_path: Path, registry: RunningRegistry,
                                                          busybox_image: str, repos: Repos,
                                                          git_tls_server: GitServer) -> None:
    run, dest = build_from(tmp_path, registry, busybox_image, git_tls_server.context("app.git"),
                           "--git", "depth=1", "--git", "insecure-skip-tls=true")
    assert run.returncode == 0, run.stderr
    assert context_files(registry, dest, tmp_path)["marker.txt"] == b"main, tip\n"
    clone = run.kaniko_dir / "buildcontext"
    assert git(clone, "rev-list", "--count", "HEAD") == "1" and (clone / ".git/shallow").exists()

    work = tmp_path / "verified"
    work.mkdir()
    run, dest = build_from(work, registry, busybox_image, git_tls_server.context("app.git"))
    assert_one_line_error(run, f"git://{git_tls_server.host}/app.git", "certificate")
    assert not manifest_exists(registry, dest)
