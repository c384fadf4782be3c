"""What a COPY/ADD copies, beyond plain context paths: heredoc sources (``COPY <<EOF /path``),
``--exclude`` patterns and ``--parents`` (BuildKit's labs semantics, with the ``/./`` pivot)."""

from __future__ import annotations

import itertools
import os
import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from executor.contexts.files import BuildContextFiles, ContextSource, context_relative, has_wildcard
from executor.dockerfile import DockerIgnore, Instruction
from executor.dockerfile.heredoc import heredoc_marker

__all__ = ["Excludes", "HeredocFiles", "KeptPath", "ParentsPattern"]


class HeredocFiles:
    """Writes a COPY's heredoc bodies to files in ``directory`` so they copy like context files.

    BuildKit makes each one a 0644 file named after its delimiter; an unquoted delimiter's body is
    ``$VAR``-expanded (``expand``), a quoted one's is taken as written.
    """

    def __init__(self, instruction: Instruction, directory: Path, expand: Callable[[str], str]) -> None:
        self.bodies = {doc.name: doc for doc in instruction.heredocs}
        self.directory = directory
        self.expand = expand

    def source(self, raw_word: str) -> ContextSource | None:
        """The file for a source word that is a heredoc marker, or None for an ordinary source."""
        marker = heredoc_marker(raw_word)
        if marker is None or marker.name not in self.bodies:
            return None
        doc = self.bodies[marker.name]
        body = doc.body()
        if marker.expand:
            body = self.expand(body)
        folder = Path(tempfile.mkdtemp(dir=self.directory))
        path = folder / posixpath.basename(marker.name.rstrip("/") or "heredoc")
        path.write_text(body, encoding="utf-8", errors="surrogateescape")
        path.chmod(0o644)
        return ContextSource(path=path, rel=path.name)


@dataclass(frozen=True)
class Excludes:
    """``--exclude`` patterns (.dockerignore syntax). A top-level source is matched by its path in
    the context, an entry inside a copied directory by its path relative to that directory."""

    patterns: DockerIgnore

    @classmethod
    def of(cls, values: list[str]) -> Excludes:
        return cls(DockerIgnore.from_patterns(values))

    def __bool__(self) -> bool:
        return bool(self.patterns.patterns)

    def source_excluded(self, source: ContextSource) -> bool:
        return bool(self) and bool(source.rel) and self.patterns.excludes(source.rel)

    def children(self, children: list[ContextSource], directory: ContextSource) -> list[ContextSource]:
        if not self:
            return children
        prefix = directory.rel + "/" if directory.rel else ""
        return [child for child in children if not self.patterns.excludes(child.rel[len(prefix):])]


@dataclass(frozen=True)
class ParentsPattern:
    """A ``COPY --parents`` source, split as BuildKit's dispatchCopy splits it
    (dockerfile2llb/convert_copy.go): before the first ``/./`` the directory the kept paths start
    from (the context root without one; wildcards there as filepath.Match, as fsutil's
    ResolveWildcards), after it a pattern matched below that directory as fsutil's copy matches
    IncludePatterns (moby/patternmatcher: ``**`` spans directories). ``a/./b/*.txt`` keeps
    ``b/...`` below the destination; without a pivot the whole path from the context root is kept."""

    pivot: str  # context-relative directory ("" for the root); may hold wildcards
    include: str  # relative to the pivot, cleaned ("" for the pivot itself)

    @classmethod
    def parse(cls, word: str) -> ParentsPattern:
        pivot, found, rest = word.partition("/./")
        if not found:
            pivot, rest = "", word
        return cls(pivot=context_relative(pivot), include=context_relative(rest))

    @property
    def required(self) -> bool:
        """Whether what it names must exist: BuildKit's RequiredPaths, only for no wildcards at all."""
        return not (has_wildcard(self.pivot) or has_wildcard(self.include))

    def pivots(self, files: BuildContextFiles) -> list[ContextSource]:
        """The directories the include pattern is matched in."""
        if not self.pivot:
            return [ContextSource(path=files.root, rel="")]
        return files.sources(self.pivot)

    def searched(self) -> str:
        """A context source covering everything this one can name (for a cache key): the pivot and
        the include pattern's directories before its first wildcard."""
        parts = self.include.split("/") if self.include else []
        literal = list(itertools.takewhile(lambda part: not has_wildcard(part), parts))
        return "/".join(part for part in (self.pivot, *literal) if part)


@dataclass(frozen=True)
class KeptPath:
    """Where a ``--parents`` entry goes: ``kept`` below the destination, whose directories are
    recreated with the metadata of those below ``base`` (the pivot on the host)."""

    base: Path
    kept: str

    @classmethod
    def of(cls, source: ContextSource, pivot: ContextSource) -> KeptPath:
        kept = os.path.relpath(source.path, pivot.path)
        return cls(base=pivot.path, kept="" if kept == "." else kept)
