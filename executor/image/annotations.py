"""The standard ``org.opencontainers.image.*`` annotations lamina knows for certain about an
image it built (https://github.com/opencontainers/image-spec/blob/main/annotations.md), and
where each ``--annotation`` goes by buildx's ``manifest:``/``index:`` prefix."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["BASE_DIGEST", "BASE_NAME", "CREATED", "REVISION", "SOURCE", "AnnotationTargets",
           "ImageFacts", "image_annotations", "index_annotations", "split_annotation"]

CREATED = "org.opencontainers.image.created"
BASE_NAME = "org.opencontainers.image.base.name"
BASE_DIGEST = "org.opencontainers.image.base.digest"
SOURCE = "org.opencontainers.image.source"
REVISION = "org.opencontainers.image.revision"

# buildx's annotation types; the descriptor ones (annotations on an index's entries) lamina lacks
_TYPES = ("manifest", "index")
_UNSUPPORTED_TYPES = ("manifest-descriptor", "index-descriptor")


@dataclass(frozen=True)
class AnnotationTargets:
    """``--annotation``s by where they go: the image manifest(s), the index."""

    manifest: Mapping[str, str] = field(default_factory=dict)
    index: Mapping[str, str] = field(default_factory=dict)


def split_annotation(key: str) -> tuple[tuple[str, ...], str]:
    """``index,manifest:KEY`` -> (("index", "manifest"), "KEY"); a key without one of buildx's
    type prefixes goes on the manifest, as buildx's does. Raises ValueError for a type lamina
    cannot honour (``manifest-descriptor``, ``manifest[linux/amd64]``)."""
    prefix, sep, rest = key.partition(":")
    words = [word.strip() for word in prefix.split(",")]
    if not sep or not all(w in _TYPES or w in _UNSUPPORTED_TYPES or w.endswith("]") and "[" in w
                          for w in words):
        return ("manifest",), key
    for word in words:
        if word not in _TYPES:
            raise ValueError(f"annotation type {word!r} is not supported; use manifest: or index:")
    if not rest:
        raise ValueError("an annotation needs a key after its type prefix")
    return tuple(dict.fromkeys(words)), rest


@dataclass(frozen=True)
class ImageFacts:
    """What the build knows of where the image came from: the image the final stage's files
    start from (None for scratch) and the source repository, each only when certain."""

    base_name: str = ""
    base_digest: str = ""
    source: str = ""
    revision: str = ""


def _common(created: str, facts: ImageFacts) -> dict[str, str]:
    found = {CREATED: created, SOURCE: facts.source, REVISION: facts.revision}
    return {key: value for key, value in found.items() if value}


def image_annotations(created: str, facts: ImageFacts,
                      given: Mapping[str, str]) -> dict[str, str]:
    """An image manifest's annotations: the standard ones, then the user's (which win)."""
    found = _common(created, facts)
    if facts.base_name and facts.base_digest:
        found[BASE_NAME] = facts.base_name
        found[BASE_DIGEST] = facts.base_digest
    return {**found, **given}


def index_annotations(created: str, facts: ImageFacts,
                      given: Mapping[str, str]) -> dict[str, str]:
    """An index's annotations: what holds for all its images (each may have another base)."""
    return {**_common(created, facts), **given}
