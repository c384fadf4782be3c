"""The build context on disk, seen through its ``.dockerignore``."""

from __future__ import annotations

import os
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from executor.dockerfile import DockerIgnore, IgnorePattern
from executor.dockerfile.gomatch import check_syntax, go_match
from executor.errors import BuildError
from snapshot.rootfs import SymlinkLoop, resolve_in_root

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
        return cls(root=root, ignore=_read_dockerignore(root))

    @classmethod
    def for_dockerfile(cls, root: Path, dockerfile: Path) -> BuildContextFiles:
        """The context seen through its ignore file: ``<Dockerfile>.dockerignore`` beside the
        Dockerfile wins over ``<context>/.dockerignore`` (only one applies, as in BuildKit and
        kaniko). One inside the context is resolved there, as the Dockerfile is."""
        files = cls.load(root)
        beside = dockerfile.with_name(dockerfile.name + ".dockerignore")
        try:
            where = (resolve_in_root(root, str(beside.relative_to(root)))
                     if beside.is_relative_to(root) else beside)
            text = where.read_text(encoding="utf-8", errors="surrogateescape")
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError, SymlinkLoop):
            return files
        return cls(root=root, ignore=DockerIgnore.parse(text, name=beside.name))

    @classmethod
    def of_image_root(cls, root: Path) -> BuildContextFiles:
        return cls(root=root, ignore=DockerIgnore.parse(""), image_root=True)

    def excluded(self, rel: str) -> bool:
        return bool(rel) and self.ignore.excludes(rel)

    def sources(self, pattern: str) -> list[ContextSource]:
        """Context entries named by a COPY/ADD source (wildcards as Go's filepath.Match).

        As BuildKit does, a named source is resolved with the context (or the --from root) as
        its root: symlinks on the way and at the end are followed inside it, an absolute target
        starts at it, ``..`` stops at it. What resolves to nothing there is not found, so a link
        to a file outside the context never copies that file. Links met inside a copied
        directory stay links (``children``)."""
        found = []
        for rel in sorted(self._named(pattern)):
            path = self._resolve(pattern, rel)
            if os.path.lexists(path):
                found.append(ContextSource(path=path, rel=rel))
        return found

    def may_match_nothing(self, pattern: str) -> bool:
        """Whether a source that ``sources`` finds nothing for is no error. BuildKit copies every
        source with AllowEmptyWildcard (dockerfile2llb dispatchCopy), so a wildcard that matches
        nothing copies nothing; but fsutil's ResolveWildcards walks the directory before the first
        wildcard, which must be there, and a plain path must be there itself. A match that resolves
        to nothing here (a link out of the context) is a missing source too, as in BuildKit."""
        parts = context_relative(pattern).split("/")
        first = next((i for i, part in enumerate(parts) if has_wildcard(part)), None)
        if first is None:
            return False
        directory = "/".join(parts[:first])
        if self.excluded(directory) or not os.path.lexists(self._resolve(pattern, directory)):
            return False
        return not self._named(pattern)

    def _named(self, pattern: str) -> list[str]:
        """The context paths a source names, before they are resolved."""
        cleaned = context_relative(pattern)
        if not has_wildcard(cleaned):
            return [] if self.excluded(cleaned) else [cleaned]
        for part in cleaned.split("/"):
            try:
                check_syntax(part)
            except ValueError as error:
                raise BuildError(f"source {pattern!r}: {error}") from None
        return [src.rel for src in self._walk_all() if _match_path(cleaned, src.rel)]

    def included(self, directory: ContextSource, pattern: str) -> list[ContextSource]:
        """COPY --parents: the entries below ``directory`` that ``pattern`` (relative to it) names,
        as fsutil's copy matches IncludePatterns, with moby/patternmatcher: ``**`` spans any number
        of directories, none included, and a directory that matches brings everything below it
        (MatchesUsingParentResults), so nothing below one is listed again. ``""`` names
        ``directory`` itself. Entries are found as ``children`` finds them: links stay links."""
        if not pattern:
            return [directory]
        try:
            check_syntax(pattern)
        except ValueError as error:
            raise BuildError(f"source pattern {pattern!r}: {error}") from None
        matcher = IgnorePattern.compile(pattern, exception=False, line=0)
        found, matched_dirs = [], set()
        for entry in self.children(directory):
            below = os.path.relpath(entry.path, directory.path)
            parents = below.split("/")[:-1]
            if any("/".join(parents[: i + 1]) in matched_dirs for i in range(len(parents))):
                continue
            if matcher.matches(below):
                found.append(entry)
                if entry.path.is_dir() and not entry.path.is_symlink():
                    matched_dirs.add(below)
        return found

    def _resolve(self, pattern: str, rel: str) -> Path:
        try:
            return resolve_in_root(self.root, rel)
        except SymlinkLoop as error:
            raise BuildError(f"source {pattern!r}: {error}") from None

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


def context_relative(pattern: str) -> str:
    """A source as a context-relative path: cleaned, ``..`` stopped at the root, "" for the root."""
    cleaned = posixpath.normpath("/" + pattern).lstrip("/")
    return "" if cleaned == "." else cleaned


def has_wildcard(pattern: str) -> bool:
    return _WILDCARD.search(pattern) is not None


def _match_path(pattern: str, rel: str) -> bool:
    pattern_parts, rel_parts = pattern.split("/"), rel.split("/")
    if len(pattern_parts) != len(rel_parts):
        return False
    return all(go_match(pat, part) for pat, part in zip(pattern_parts, rel_parts))


def _read_dockerignore(root: Path) -> DockerIgnore:
    """``<context>/.dockerignore``, resolved inside the context like every file read from it (a
    link to a file outside is no .dockerignore at all), or an empty matcher."""
    try:
        path = resolve_in_root(root, ".dockerignore")
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError, SymlinkLoop):
        return DockerIgnore()
    return DockerIgnore.parse(text, name=".dockerignore")
