"""Image references (``registry/repository:tag@digest``) parsed with Docker's naming rules."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidReference

DOCKER_HUB = "index.docker.io"
DEFAULT_TAG = "latest"
# Names Docker treats as Docker Hub; go-containerregistry (hence kaniko) talks to index.docker.io.
_DOCKER_HUB_ALIASES = frozenset({"docker.io", "index.docker.io"})

# The grammar of github.com/distribution/reference (regexp.go).
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN_RE = re.compile(
    rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?")
_PATH_COMPONENT_RE = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG_RE = re.compile(r"[\w][\w.-]{0,127}")
_DIGEST_RE = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
_SHA256_RE = re.compile(r"sha256:[0-9a-f]{64}")
_MAX_NAME_LENGTH = 255


@dataclass(frozen=True)
class ImageReference:
    """A fully qualified reference. ``tag`` is None only for digest-only references."""

    registry: str
    repository: str
    tag: str | None = DEFAULT_TAG
    digest: str | None = None

    @property
    def context_name(self) -> str:
        """``registry/repository``: the name without tag or digest."""
        return f"{self.registry}/{self.repository}"

    @property
    def identifier(self) -> str:
        """What to ask the manifests endpoint for: the digest when pinned, else the tag."""
        return self.digest or self.tag or DEFAULT_TAG

    def with_tag(self, tag: str) -> ImageReference:
        return parse_reference(f"{self.context_name}:{tag}")

    def with_digest(self, digest: str) -> ImageReference:
        return parse_reference(f"{self.context_name}@{digest}")

    def __str__(self) -> str:
        text = self.context_name
        if self.tag is not None:
            text += f":{self.tag}"
        if self.digest is not None:
            text += f"@{self.digest}"
        return text


def parse_reference(text: str) -> ImageReference:
    """Parse ``text`` as ``docker pull`` would; raise InvalidReference naming it if it is not valid.

    ``busybox`` is ``index.docker.io/library/busybox:latest``; a first path component is a registry
    only if it contains ``.`` or ``:``, is ``localhost``, or has upper-case letters.
    """

    def invalid(why: str) -> InvalidReference:
        return InvalidReference(f"invalid image reference {text!r}: {why}")

    if not text or text != text.strip():
        raise invalid("empty or surrounded by whitespace")
    name, digest = text, None
    if "@" in text:
        name, digest = text.split("@", 1)
        if not _DIGEST_RE.fullmatch(digest):
            raise invalid(f"bad digest {digest!r}")
        if digest.startswith("sha256:") and not _SHA256_RE.fullmatch(digest):
            raise invalid("a sha256 digest is 64 lower-case hex digits")
    tag: str | None = None
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG_RE.fullmatch(tag):
            raise invalid(f"bad tag {tag!r} (letters, digits, '_', '.', '-'; at most 128)")
    if tag is None and digest is None:
        tag = DEFAULT_TAG

    registry, repository = _split_registry(name)
    if not _DOMAIN_RE.fullmatch(registry):
        raise invalid(f"bad registry {registry!r}")
    if not repository:
        raise invalid("missing repository name")
    for component in repository.split("/"):
        if not _PATH_COMPONENT_RE.fullmatch(component):
            why = "repository names must be lower-case" if component.lower() != component else (
                f"bad repository component {component!r}")
            raise invalid(why)
    if registry in _DOCKER_HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in repository:
            repository = f"library/{repository}"
    if len(f"{registry}/{repository}") > _MAX_NAME_LENGTH:
        raise invalid(f"name longer than {_MAX_NAME_LENGTH} characters")
    return ImageReference(registry=registry, repository=repository, tag=tag, digest=digest)


def _split_registry(name: str) -> tuple[str, str]:
    first, sep, rest = name.partition("/")
    if sep and (any(c in first for c in ".:") or first == "localhost" or first.lower() != first):
        return first, rest
    return DOCKER_HUB, name
