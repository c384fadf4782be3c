"""Paths inside the root that are never walked, snapshotted or extracted into."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

__all__ = ["IgnoreList", "normalize_rel"]


def normalize_rel(path: str) -> str:
    """``"/etc/hosts"``, ``"./etc/hosts/"`` -> ``"etc/hosts"``; the root itself is ``""``."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"path {path!r} must not contain '..'")
    return "/".join(parts)


@dataclass(frozen=True)
class IgnoreList:
    """Root-relative POSIX paths (no leading slash); a path and everything below it is ignored.

    Built from root-relative or absolute-in-root strings: ``IgnoreList.of("/proc", "kaniko")``.
    """

    paths: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        normalized = frozenset(n for n in (normalize_rel(p) for p in self.paths) if n)
        object.__setattr__(self, "paths", normalized)

    @classmethod
    def of(cls, *paths: str) -> IgnoreList:
        return cls(frozenset(paths))

    def union(self, other: IgnoreList | Iterable[str]) -> IgnoreList:
        extra = other.paths if isinstance(other, IgnoreList) else frozenset(other)
        return IgnoreList(self.paths | extra)

    def ignores(self, rel: str) -> bool:
        """True for an ignored path or anything below it, matching whole components."""
        paths = self.paths
        if not paths:
            return False
        if rel in paths:
            return True
        cut = rel.find("/")
        while cut != -1:
            if rel[:cut] in paths:
                return True
            cut = rel.find("/", cut + 1)
        return False

    def is_listed(self, rel: str) -> bool:
        """True only for a listed path itself (walkers that never descend into one need no more)."""
        return rel in self.paths

    def has_ignored_below(self, rel: str) -> bool:
        """True when some ignored path lies strictly below ``rel`` ("" is the root)."""
        if not rel:
            return bool(self.paths)
        prefix = rel + "/"
        return any(p.startswith(prefix) for p in self.paths)
