"""How ``--context``, ``--context-sub-path``, ``--dockerfile`` and ``--git`` are understood
(values only: nothing is fetched here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.cli import parse_options
from executor.contexts import parse_context
from executor.contexts.azure import AzureBlobArchive
from executor.contexts.gcs import GcsArchive
from executor.contexts.git import GitOptions, GitRepository
from executor.contexts.local import StdinArchive, TarFileArchive
from executor.contexts.s3 import S3Archive
from executor.contexts.web import HttpArchive, redact_url
from executor.errors import UsageError

NO_GIT = GitOptions()


@pytest.mark.parametrize("spec, expected", [
    ("/workspace", Path("/workspace")),
    ("dir:///src/app", Path("/src/app")),
    ("tar:///ctx/c.tar.gz", TarFileArchive(Path("/ctx/c.tar.gz"))),
    ("tar://stdin", StdinArchive()),
    ("gs://bucket/path/to/context.tar.gz", GcsArchive("bucket", "path/to/context.tar.gz")),
    ("s3://bucket/key.tar", S3Archive("bucket", "key.tar")),
    ("https://h.example/c.tar.gz?sig=1", HttpArchive("https://h.example/c.tar.gz?sig=1")),
    # kaniko's Azure form: an https URL on a blob storage host, the account its first label
    ("https://acme.blob.core.windows.net/ctx/p/c%20d.tar.gz",
     AzureBlobArchive("ctx", "p/c d.tar.gz", account="acme")),
    ("https://acme.blob.core.usgovcloudapi.net/ctx/c.tar.gz?sv=1&sig=s",
     AzureBlobArchive("ctx", "c.tar.gz", account="acme", endpoint_suffix="core.usgovcloudapi.net",
                      sas="sv=1&sig=s")),
    ("https://blob.core.windows.net/ctx/c.tar.gz", HttpArchive("https://blob.core.windows.net/ctx/c.tar.gz")),
    ("http://acme.blob.core.windows.net/ctx/c.tar.gz", HttpArchive("http://acme.blob.core.windows.net/ctx/c.tar.gz")),
    ("azblob://ctx/builds/c.tar.gz", AzureBlobArchive("ctx", "builds/c.tar.gz")),
    ("git://github.com/acme/app.git", GitRepository("github.com/acme/app.git")),
    ("git://github.com/acme/app.git#refs/heads/dev", GitRepository("github.com/acme/app.git", "refs/heads/dev")),
    ("git://h/a/b.git#refs/heads/dev#0123abc", GitRepository("h/a/b.git", "refs/heads/dev", "0123abc")),
    ("git://h/a/b.git#" + "a" * 40, GitRepository("h/a/b.git", "", "a" * 40)),
])
def test_context_forms(spec: str, expected: object) -> None:
    assert parse_context(spec, NO_GIT) == expected


@pytest.mark.parametrize("spec, fragment", [
    ("ftp://host/c.tar.gz", "unknown scheme ftp://"),
    ("gs://bucket-only", "gs://BUCKET/"),
    ("s3://bucket/dir/", "s3://BUCKET/"),
    ("git://nohost", "git://HOST/"),
    ("git://h/r.git#main#not-hex!", "not a commit id"),
    ("https:///path", "host"),
    ("azblob://container-only", "azblob://CONTAINER/"),
    ("https://acme.blob.core.windows.net/container-only", "CONTAINER/PATH"),
])
def test_bad_context_forms(spec: str, fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_context(spec, NO_GIT)


def test_remote_context_lands_in_the_kaniko_dir_with_its_sub_path(tmp_path: Path) -> None:
    options = parse_options(["--context", "s3://b/c.tar.gz", "--context-sub-path", "./app/",
                             "--dockerfile", "docker/Dockerfile", "--kaniko-dir", str(tmp_path),
                             "--no-push"], env={})
    assert options.source.context == tmp_path / "buildcontext/app"
    assert options.source.dockerfile == tmp_path / "buildcontext/app/docker/Dockerfile"
    assert options.source.fetch is not None
    assert options.source.fetch.source == S3Archive("b", "c.tar.gz")
    assert options.source.fetch.directory == tmp_path / "buildcontext"


def test_local_directory_is_used_in_place(tmp_path: Path) -> None:
    options = parse_options(["-c", f"dir://{tmp_path}", "--context-sub-path", "sub", "--no-push"], env={})
    assert options.source.context == tmp_path / "sub"
    assert options.source.dockerfile == tmp_path / "sub/Dockerfile"
    assert options.source.fetch is None


def test_dockerfile_url_is_downloaded_into_the_kaniko_dir(tmp_path: Path) -> None:
    options = parse_options(["-c", str(tmp_path), "-f", "https://h.example/Dockerfile",
                             "--kaniko-dir", str(tmp_path / "k"), "--no-push"], env={})
    assert options.source.dockerfile == tmp_path / "k/Dockerfile"
    assert options.source.fetch is not None and options.source.fetch.source is None
    assert options.source.fetch.dockerfile_url == "https://h.example/Dockerfile"


def test_git_flags() -> None:
    options = parse_options(["-c", "git://h/r.git", "--git", "branch=release/1.0", "--git",
                             "single-branch=TRUE", "--git=recurse-submodules=1", "--no-push"], env={})
    assert options.source.fetch is not None
    assert options.source.fetch.source == GitRepository(
        "h/r.git", options=GitOptions(branch="release/1.0", single_branch=True, recurse_submodules=True))


@pytest.mark.parametrize("argv, fragment", [
    (["--git", "branch"], "KEY=VALUE"),
    (["--git", "single-branch=maybe"], "true or false"),
    (["--git", "shallow=1"], "unknown key"),
    (["--git", "depth=-1"], "number of commits"),
    (["--context-sub-path", "../etc"], "inside the context"),
    (["--context-sub-path", "/etc"], "inside the context"),
])
def test_bad_flags(argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_options(["-c", "git://h/r.git", "--no-push", *argv], env={})


def test_presigned_urls_are_named_without_their_signature() -> None:
    assert redact_url("https://user:pw@b.s3.example:8443/c.tar.gz?X-Amz-Signature=abc") == \
        "https://b.s3.example:8443/c.tar.gz?..."
    assert HttpArchive("https://h/c.tar.gz?sig=1").describe() == "https://h/c.tar.gz?..."


def test_credentials_in_a_git_url_leave_the_url() -> None:
    repo = parse_context("git://ci:p%40ss@git.example/team/app.git#refs/heads/main", NO_GIT)
    assert isinstance(repo, GitRepository)
    assert repo.describe() == "git://git.example/team/app.git#refs/heads/main"
    assert repo.url({}) == "https://git.example/team/app.git"
    assert repo.url_credentials == "ci:p@ss" and "p@ss" not in repr(repo)


def test_git_options_parse() -> None:
    """``GitOptions.parse``: kaniko's keys and the fork's depth=, checked one flag at a time."""
    assert GitOptions.parse([]) == GitOptions()
    assert GitOptions.parse(["branch=release/1.0", "single-branch=TRUE", "recurse-submodules=1",
                             "depth=1", "insecure-skip-tls=t", "depth=3"]) == GitOptions(
        branch="release/1.0", single_branch=True, recurse_submodules=True, depth=3, insecure_skip_tls=True)
    assert GitOptions.parse(["depth=0", "insecure-skip-tls=false"]) == GitOptions()


@pytest.mark.parametrize("values, fragment", [
    (["branch"], "KEY=VALUE"),
    (["single-branch=maybe", "single-branch=true"], "single-branch=maybe: expected true or false"),
    (["insecure-skip-tls=yes"], "expected true or false"),
    (["depth=-1"], "number of commits"),
    (["depth=one"], "number of commits"),
    (["shallow=1"], "unknown key 'shallow'"),
])
def test_bad_git_options(values: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        GitOptions.parse(values)
