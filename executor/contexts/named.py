"""``--build-context NAME=VALUE``: more contexts, named, as buildx defines them (buildx
build/build.go LoadInputs, BuildKit frontend/dockerui/namedcontext.go):

- ``docker-image://REF``: an image, pulled as FROM pulls it;
- ``oci-layout://PATH[:TAG|@DIGEST]``: an image in a local OCI layout (tag "latest" by default);
- a git URL (``https://…/x.git#ref:subdir``, ``git@host:…``, ``ssh://``, ``git://``): a checkout;
- ``http(s)://…`` otherwise: the one file downloaded, named ``context`` (BuildKit's llb.HTTP with
  Filename "context"; it is not unpacked);
- otherwise a local directory (lamina also takes kaniko's ``dir://PATH``), which must exist; its
  own ``.dockerignore`` applies (dockerui loads it for a ``local:`` named context).

``FROM NAME``, ``COPY --from=NAME`` and ``RUN --mount=from=NAME`` read it; a stage named NAME is
replaced by it. NAME is compared as BuildKit normalizes it: ``docker.io/library/alpine:latest``
is ``alpine``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from executor.dockerfile.git_url import GitURL, parse_git_url
from executor.errors import UsageError

__all__ = ["NamedContext", "context_name", "parse_build_contexts"]

Kind = Literal["dir", "image", "oci-layout", "git", "http"]
_NAME = re.compile(r"[a-z0-9]+(?:[._/:@-][a-z0-9]+)*")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")


@dataclass(frozen=True)
class NamedContext:
    name: str  # normalized (``context_name``)
    kind: Kind
    value: str  # the directory, image reference, layout directory or URL
    tag: str = ""  # oci-layout: the ref name in index.json ("latest" unless a digest is given)
    digest: str = ""  # oci-layout: the manifest (or index) digest
    git: GitURL | None = None

    def describe(self) -> str:
        return f"--build-context {self.name}"


def context_name(ref: str) -> str:
    """A name as BuildKit's NamedContext compares it: reference.FamiliarString with the
    ``:latest`` tag dropped."""
    name = ref
    for prefix in ("docker.io/", "index.docker.io/"):
        if name.startswith(prefix):
            name = name[len(prefix):]
            if name.startswith("library/") and name.count("/") == 1:
                name = name[len("library/"):]
    return name.removesuffix(":latest")


def parse_build_contexts(values: Iterable[str]) -> tuple[NamedContext, ...]:
    """Each ``NAME=VALUE``; a later one of the same name wins, as buildx's map does."""
    found: dict[str, NamedContext] = {}
    for item in values:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise UsageError(f"--build-context {item!r}: expected NAME=VALUE")
        if not _NAME.fullmatch(name):
            raise UsageError(f"--build-context {item!r}: invalid context name {name!r} (lowercase "
                             "letters, digits and . _ - / : @ separators, as an image reference)")
        context = _parse_value(context_name(name), value)
        found[context.name] = context
    return tuple(found.values())


def _parse_value(name: str, value: str) -> NamedContext:
    where = f"--build-context {name}={value}"
    try:
        git = parse_git_url(value)
    except ValueError as error:
        raise UsageError(f"{where}: {error}") from None
    if git is not None:
        return NamedContext(name, "git", value, git=git)
    scheme = _SCHEME.match(value)
    kind = scheme.group(1).lower() if scheme else ""
    rest = value[scheme.end():] if scheme else value
    match kind:
        case "docker-image":
            if not rest:
                raise UsageError(f"{where}: expected docker-image://REFERENCE")
            return NamedContext(name, "image", rest)
        case "oci-layout":
            return _oci_layout(name, rest, where)
        case "http" | "https":
            return NamedContext(name, "http", value)
        case "dir" | "":
            return _directory(name, Path(rest), where)
    raise UsageError(f"{where}: unknown scheme {kind}://; use docker-image://, oci-layout://, "
                     "a git URL, an http(s) URL or a local directory")


def _oci_layout(name: str, rest: str, where: str) -> NamedContext:
    """buildx: ``PATH@DIGEST`` or ``PATH:TAG`` (cut at the first ``@``, then the first ``:``)."""
    path, at, digest = rest.partition("@")
    path, colon, tag = path.partition(":")
    if at and not re.fullmatch(r"sha256:[0-9a-f]{64}", digest):
        raise UsageError(f"{where}: {digest!r} is not a sha256 digest")
    if not path:
        raise UsageError(f"{where}: expected oci-layout://PATH[:TAG|@DIGEST]")
    if not (Path(path) / "index.json").is_file():
        raise UsageError(f"{where}: {path} is not an OCI layout (no index.json)")
    return NamedContext(name, "oci-layout", str(Path(path).absolute()), tag=tag if colon else
                        ("" if at else "latest"), digest=digest)


def _directory(name: str, path: Path, where: str) -> NamedContext:
    if not path.is_dir():
        # buildx: "failed to get build context path ...: not a directory"
        raise UsageError(f"{where}: {path} is not a directory" if path.exists()
                         else f"{where}: no such directory {path}")
    return NamedContext(name, "dir", str(path.absolute()))
