"""Image references follow Docker's naming rules."""

from __future__ import annotations

import pytest

from executor.errors import LaminaError
from executor.registry import ImageReference, InvalidReference, parse_reference

DIGEST = "sha256:" + "ab" * 32


@pytest.mark.parametrize("text, registry, repository, tag, digest", [
    ("busybox", "index.docker.io", "library/busybox", "latest", None),
    ("busybox:1.36", "index.docker.io", "library/busybox", "1.36", None),
    ("library/busybox", "index.docker.io", "library/busybox", "latest", None),
    ("someone/app", "index.docker.io", "someone/app", "latest", None),
    ("docker.io/busybox", "index.docker.io", "library/busybox", "latest", None),
    ("docker.io/someone/app:v1", "index.docker.io", "someone/app", "v1", None),
    ("index.docker.io/busybox", "index.docker.io", "library/busybox", "latest", None),
    ("gcr.io/project/image", "gcr.io", "project/image", "latest", None),
    ("localhost/app", "localhost", "app", "latest", None),
    ("localhost:5000/app:dev", "localhost:5000", "app", "dev", None),
    ("127.0.0.1:5000/a/b/c:1.0-rc_1", "127.0.0.1:5000", "a/b/c", "1.0-rc_1", None),
    ("registry:5000/app", "registry:5000", "app", "latest", None),
    ("Registry/app", "Registry", "app", "latest", None),  # upper case: can only be a host
    ("notahost/app", "index.docker.io", "notahost/app", "latest", None),
    ("my.registry.example/x__y/a.b-c", "my.registry.example", "x__y/a.b-c", "latest", None),
    (f"busybox@{DIGEST}", "index.docker.io", "library/busybox", None, DIGEST),
    (f"busybox:1.36@{DIGEST}", "index.docker.io", "library/busybox", "1.36", DIGEST),
    (f"localhost:5000/app@{DIGEST}", "localhost:5000", "app", None, DIGEST),
    ("[::1]:5000/app:v", "[::1]:5000", "app", "v", None),
])
def test_parse(text: str, registry: str, repository: str, tag: str | None,
               digest: str | None) -> None:
    ref = parse_reference(text)
    assert ref == ImageReference(registry, repository, tag, digest)
    assert parse_reference(str(ref)) == ref
    assert ref.context_name == f"{registry}/{repository}"


def test_str_and_identifier() -> None:
    assert str(parse_reference("busybox")) == "index.docker.io/library/busybox:latest"
    pinned = parse_reference(f"busybox:1@{DIGEST}")
    assert str(pinned) == f"index.docker.io/library/busybox:1@{DIGEST}"
    assert pinned.identifier == DIGEST
    assert parse_reference("a:b").identifier == "b"
    assert parse_reference("a").with_tag("v2") == parse_reference("a:v2")
    assert parse_reference("a:v1").with_digest(DIGEST).tag is None


@pytest.mark.parametrize("text, why", [
    ("", "empty"),
    (" busybox", "whitespace"),
    ("BusyBox", "lower-case"),
    ("example.com/Foo/bar", "lower-case"),
    ("busybox:bad tag", "bad tag"),
    ("busybox:-dash", "bad tag"),
    ("busybox:" + "t" * 129, "bad tag"),
    ("busybox@sha256:123", "bad digest"),
    ("busybox@sha256:" + "AB" * 32, "64 lower-case"),
    ("busybox@md5", "bad digest"),
    ("example.com/", "missing repository"),
    ("a//b", "bad repository component"),
    ("a/b_/c", "bad repository component"),
    ("exa_mple.com:5000/app", "bad registry"),
    ("example.com:port/app", "bad registry"),
    ("example.com/" + "a" * 250, "longer than 255"),
])
def test_invalid(text: str, why: str) -> None:
    with pytest.raises(InvalidReference) as caught:
        parse_reference(text)
    assert why in str(caught.value)
    assert repr(text) in str(caught.value)
    assert isinstance(caught.value, LaminaError)
