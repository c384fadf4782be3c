"""Which ADD sources / --build-context values are git repositories: the cases of BuildKit's
frontend/dockerfile/dfgitutil/git_ref_test.go (TestParseGitRef), and the query form."""

from __future__ import annotations

import pytest

from executor.dockerfile.git_url import GitURL, parse_git_url


@pytest.mark.parametrize("word, expected", [
    ("https://example.com/", None),
    ("https://example.com/foo", None),
    ("https://example.com/foo.git", GitURL("https://example.com/foo.git")),
    ("https://example.com/foo.git#deadbeef", GitURL("https://example.com/foo.git", ref="deadbeef")),
    ("https://example.com/foo.git#release/1.2", GitURL("https://example.com/foo.git", ref="release/1.2")),
    ("https://example.com/foo.git/", None),
    ("https://example.com/foo.git.bar", None),
    ("git://example.com/foo", GitURL("git://example.com/foo")),
    ("github.com/moby/buildkit", None),  # indistinguishable from a local path: a path for ADD
    ("custom.xyz/moby/buildkit.git", None),
    ("https://foo:bar@github.com/moby/buildkit.git", GitURL("https://foo:bar@github.com/moby/buildkit.git")),
    ("git@github.com:moby/buildkit", GitURL("git@github.com:moby/buildkit")),
    ("git@bitbucket.org:atlassianlabs/atlassian-docker.git",
     GitURL("git@bitbucket.org:atlassianlabs/atlassian-docker.git")),
    ("https://github.com/foo/bar.git#baz/qux:quux/quuz",
     GitURL("https://github.com/foo/bar.git", ref="baz/qux", subdir="quux/quuz")),
    ("http://github.com/docker/docker.git:#branch", None),
    ("https://github.com/docker/docker.git#:myfolder", GitURL("https://github.com/docker/docker.git", subdir="myfolder")),
    ("ssh://git@host/repo.git#v1:../../etc", GitURL("ssh://git@host/repo.git", ref="v1", subdir="etc")),
    ("https://h/r.git?tag=v1&subdir=a/b&keep-git-dir=true",
     GitURL("https://h/r.git", ref="refs/tags/v1", subdir="a/b", keep_git_dir=True)),
    ("https://h/r.git?branch=main&checksum=abc123&submodules=false",
     GitURL("https://h/r.git", ref="refs/heads/main", checksum="abc123", submodules=False)),
    ("ftp://h/r.git", None),
    ("./local.git", None),
])
def test_parse_git_url(word: str, expected: GitURL | None) -> None:
    assert parse_git_url(word) == expected


@pytest.mark.parametrize("word, message", [
    ("https://h/r.git?tag=v1&branch=main", "branch conflicts with tag"),
    ("https://h/r.git#main?ref=dev", None),  # the fragment swallows the rest: no conflict
    ("https://h/r.git?ref=a&ref=b", "multiple values"),
    ("https://h/r.git?depth=1", "unexpected query 'depth'"),
    ("https://h/r.git?ref=v2", None),
])
def test_malformed_git_queries(word: str, message: str | None) -> None:
    if message is None:
        assert parse_git_url(word) is not None
        return
    with pytest.raises(ValueError, match=message):
        parse_git_url(word)


def test_credentials_are_left_out_of_what_is_shown() -> None:
    shown = {w: parse_git_url(w).shown() for w in  # type: ignore[union-attr]
             ("https://u:tok@h/r.git", "https://tok@h/r.git", "ssh://git@h/r.git", "git@h:r.git")}
    assert shown == {"https://u:tok@h/r.git": "https://xxxxx@h/r.git", "https://tok@h/r.git": "https://xxxxx@h/r.git",
                     "ssh://git@h/r.git": "ssh://git@h/r.git", "git@h:r.git": "git@h:r.git"}
