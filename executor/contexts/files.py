"""The build context on disk, seen through its ``.dockerignore``."""

from __future__ import annotations

import os
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from executor.dockerfile import DockerIgnore
from executor.dockerfile.gomatch import check_syntax, go_match
from snapshot.rootfs import SymlinkLoop, resolve_in_root
from executor.errors import BuildError

_WILDCARD = re.compile(r"[*?\[]")


@dataclass(frozen=True)
class ContextSource:
    path: Path  # on the host
    rel: str  # relative to the context root, "" for the root itself


@dataclass(frozen=True)
class BuildContextFiles:
    """Files a COPY reads: the build context (with its .dockerignore), or with ``image_root`` the
    root of an earlier stage or image (``--from``), where symlinks resolve inside that root."""

    root: Path
    ignore: DockerIgnore
    image_root: bool = False

    @classmethod
    def load(cls, root: Path) -> BuildContextFiles:
        if not root.is_dir():
            raise BuildError(f"build context {root} is not a directory")
        return cls(root=root, ignore=DockerIgnore.load(root))

    @classmethod
    def of_image_root(cls, root: Path) -> BuildContextFiles:
        return cls(root=root, ignore=DockerIgnore.parse(""), image_root=True)

    def excluded(self, rel: str) -> bool:
        return bool(rel) and self.ignore.excludes(rel)

    def sources(self, pattern: str) -> list[ContextSource]:
        """Context entries named by a COPY/ADD source (wildcards as Go's filepath.Match)."""
        cleaned = posixpath.normpath("/" + pattern).lstrip("/")
        if cleaned == ".":
            cleaned = ""
        if _WILDCARD.search(cleaned):
            for part in cleaned.split("/"):
                try:
                    check_syntax(part)
                except ValueError as error:
                    raise BuildError(f"source {pattern!r}: {error}") from None
            matches = [src for src in self._walk_all() if _match_path(cleaned, src.rel)]
            return sorted(matches, key=lambda s: s.rel)
        if self.image_root:
            # BuildKit follows symlinks in --from sources, the last one included.
            try:
                path = resolve_in_root(self.root, cleaned)
            except SymlinkLoop as error:
                raise BuildError(f"source {pattern!r}: {error}") from None
            return [ContextSource(path=path, rel=cleaned)] if os.path.lexists(path) else []
        path = self.root / cleaned
        if not os.path.lexists(path) or self.excluded(cleaned):
            return []
        return [ContextSource(path=path, rel=cleaned)]

    def _walk_all(self) -> Iterator[ContextSource]:
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            base = os.path.relpath(dirpath, self.root)
            base = "" if base == "." else base
            for name in sorted(dirnames + filenames):
                rel = f"{base}/{name}" if base else name
                if not self.excluded(rel):
                    yield ContextSource(path=Path(dirpath, name), rel=rel)

    def children(self, directory: ContextSource) -> Iterator[ContextSource]:
        """Entries below ``directory`` in walk order (parents first), .dockerignore applied."""
        for dirpath, dirnames, filenames in os.walk(directory.path):
            dirnames.sort()
            base = os.path.relpath(dirpath, self.root)
            base = "" if base == "." else base
            keep_dirs = []
            for name in sorted(dirnames + filenames):
                rel = f"{base}/{name}" if base else name
                full = Path(dirpath, name)
                is_dir = name in dirnames and not full.is_symlink()
                if self.excluded(rel):
                    # An excluded directory may still hold re-included (!pattern) entries.
                    if is_dir and self.ignore.may_descend(rel):
                        keep_dirs.append(name)
                    continue
                if is_dir:
                    keep_dirs.append(name)
                yield ContextSource(path=full, rel=rel)
            dirnames[:] = [d for d in dirnames if d in keep_dirs]


def _match_path(pattern: str, rel: str) -> bool:
    pattern_parts, rel_parts = pattern.split("/"), rel.split("/")
    if len(pattern_parts) != len(rel_parts):
        return False
    return all(go_match(pat, part) for pat, part in zip(pattern_parts, rel_parts))
