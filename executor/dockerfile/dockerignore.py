""".dockerignore: moby's ``ignorefile.ReadAll`` + ``patternmatcher`` semantics.

- Lines starting with ``#`` are comments; lines are trimmed; blank lines are skipped; a UTF-8 BOM
  is dropped. ``!`` starts an exception. Patterns are ``filepath.Clean``ed and a leading ``/``
  removed, so ``/a/./b/`` is ``a/b``.
- Pattern syntax is Go's ``filepath.Match`` (``*`` and ``?`` stay within one path component,
  ``[a-z]``/``[^a-z]`` classes, ``\\`` escapes) plus ``**``, which matches any number of
  components (zero included). ``**`` at the very start matches any suffix, ``dir/**`` any path below.
- A path is excluded when the last pattern matching it *or one of its parent directories* is not
  an exception (``MatchesOrParentMatches``): ``docs`` excludes ``docs/a/b``, and ``!docs/a``
  afterwards brings ``docs/a`` and everything below back.
"""

from __future__ import annotations

import os
import re
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path

from executor.dockerfile.errors import DockerignoreError
from executor.dockerfile.gomatch import check_syntax

__all__ = ["DockerIgnore", "IgnorePattern", "go_clean_path"]

# Characters that mean something to a regex but nothing to filepath.Match; moby escapes these.
_REGEX_ONLY_SPECIALS = frozenset(".+()|{}$")


def go_clean_path(path: str) -> str:
    """Go's ``path/filepath.Clean`` for slash-separated paths."""
    if path == "":
        return "."
    rooted = path.startswith("/")
    parts: list[str] = []
    for part in path.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if parts and parts[-1] != "..":
                parts.pop()
            elif not rooted:
                parts.append("..")
            continue
        parts.append(part)
    cleaned = "/".join(parts)
    if rooted:
        return "/" + cleaned
    return cleaned or "."


class _MatchType(Enum):
    EXACT = "exact"
    PREFIX = "prefix"
    SUFFIX = "suffix"
    REGEXP = "regexp"


def _to_regex(pattern: str) -> tuple[_MatchType, str]:
    """moby's ``Pattern.compile``: the match strategy, and the regex source for REGEXP."""
    regex = "^"
    kind = _MatchType.EXACT
    n = len(pattern)
    i = 0
    first = True
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            if i < n and pattern[i] == "*":
                i += 1
                if i < n and pattern[i] == "/":  # **/ is the same as **
                    i += 1
                if i >= n:
                    if kind is _MatchType.EXACT:
                        kind = _MatchType.PREFIX
                    else:
                        regex += ".*"
                        kind = _MatchType.REGEXP
                else:
                    regex += "(.*/)?"
                    kind = _MatchType.REGEXP
                if first:
                    kind = _MatchType.SUFFIX
            else:
                regex += "[^/]*"
                kind = _MatchType.REGEXP
        elif ch == "?":
            regex += "[^/]"
            kind = _MatchType.REGEXP
        elif ch in _REGEX_ONLY_SPECIALS:
            regex += "\\" + ch
        elif ch == "\\":
            if i < n:
                regex += "\\" + pattern[i]
                i += 1
                kind = _MatchType.REGEXP
            else:
                regex += "\\\\"
        elif ch in "[]":
            regex += ch
            kind = _MatchType.REGEXP
        else:
            regex += ch
        first = False
    return kind, regex + r"\Z"


def _compile(source: str) -> re.Pattern[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # "possible nested set" for [[ in a class
        return re.compile(source)


@dataclass(frozen=True)
class IgnorePattern:
    """One cleaned pattern; ``exception`` for a ``!`` line. Build with ``IgnorePattern.compile``."""

    text: str
    exception: bool
    line: int
    kind: _MatchType = field(repr=False, compare=False)
    regex: re.Pattern[str] | None = field(repr=False, compare=False)
    # Per path component, a regex for it, or None where the component may span several (**, [..]).
    components: tuple[re.Pattern[str] | None, ...] = field(repr=False, compare=False)

    @classmethod
    def compile(cls, text: str, exception: bool, line: int) -> IgnorePattern:
        kind, source = _to_regex(text)
        return cls(
            text=text,
            exception=exception,
            line=line,
            kind=kind,
            regex=_compile(source) if kind is _MatchType.REGEXP else None,
            components=tuple(_component_regex(c) for c in text.split("/")),
        )

    def matches(self, path: str) -> bool:
        """``path`` itself matches (no parent matching)."""
        if self.kind is _MatchType.EXACT:
            return path == self.text
        if self.kind is _MatchType.PREFIX:
            return path.startswith(self.text[:-2])  # dir/** -> "dir/"
        if self.kind is _MatchType.SUFFIX:
            suffix = self.text[2:]  # **/foo -> "/foo"
            if path.endswith(suffix):
                return True
            return suffix.startswith("/") and path == suffix[1:]
        assert self.regex is not None
        return self.regex.match(path) is not None

    def matches_or_parent_matches(self, path: str) -> bool:
        if self.matches(path):
            return True
        parts = path.split("/")
        return any(self.matches("/".join(parts[: i + 1])) for i in range(len(parts) - 1))

    def may_match_below(self, rel_dir: str) -> bool:
        """Could this pattern match ``rel_dir/<something>``? Conservative: True when unsure."""
        for part, component in zip(rel_dir.split("/"), self.components, strict=False):
            if component is None:
                return True
            if not component.match(part):
                return False
        return True


def _component_regex(component: str) -> re.Pattern[str] | None:
    if "**" in component or "[" in component:
        return None
    kind, source = _to_regex(component)
    if kind is _MatchType.EXACT:
        return re.compile(re.escape(component) + r"\Z")
    return _compile(source)


@dataclass(frozen=True)
class DockerIgnore:
    """A parsed .dockerignore. ``DockerIgnore.parse("")`` (or a missing file) excludes nothing."""

    patterns: tuple[IgnorePattern, ...] = ()

    @classmethod
    def parse(cls, text: str, name: str = ".dockerignore") -> DockerIgnore:
        if text.startswith("\ufeff"):
            text = text[1:]
        patterns: list[IgnorePattern] = []
        for number, raw in enumerate(text.split("\n"), start=1):
            if raw.startswith("#"):
                continue
            pattern = raw.strip()
            if not pattern:
                continue
            exception = pattern.startswith("!")
            if exception:
                pattern = pattern[1:].strip()
            if pattern:
                pattern = go_clean_path(pattern)
                if len(pattern) > 1 and pattern.startswith("/"):
                    pattern = pattern[1:]
            if exception and not pattern:
                raise DockerignoreError('illegal exclusion pattern: "!"', number, name)
            try:
                check_syntax(pattern)
                patterns.append(IgnorePattern.compile(pattern, exception, number))
            except (ValueError, re.error) as exc:
                raise DockerignoreError(f"bad pattern {raw.strip()!r}: {exc}", number, name) from None
        return cls(tuple(patterns))

    @classmethod
    def from_patterns(cls, lines: list[str]) -> DockerIgnore:
        """From already-split pattern lines (e.g. kaniko's --ignore-path style lists)."""
        return cls.parse("\n".join(lines))

    @classmethod
    def load(cls, context_dir: str | os.PathLike[str]) -> DockerIgnore:
        """``<context>/.dockerignore``, or an empty matcher when there is none."""
        path = Path(context_dir) / ".dockerignore"
        try:
            text = path.read_text(encoding="utf-8", errors="surrogateescape")
        except FileNotFoundError:
            return cls()
        return cls.parse(text, name=str(path))

    @property
    def has_exceptions(self) -> bool:
        return any(p.exception for p in self.patterns)

    def excludes(self, rel_path: str) -> bool:
        """Whether the context-relative, slash-separated ``rel_path`` is left out of the context."""
        path = go_clean_path(rel_path)
        if path.startswith("/"):
            path = path.lstrip("/") or "."
        if path == ".":
            return False  # the context root itself is never excluded
        matched = False
        for pattern in self.patterns:
            # Only a pattern that could flip the current answer needs evaluating.
            if pattern.exception != matched:
                continue
            if pattern.matches_or_parent_matches(path):
                matched = not pattern.exception
        return matched

    def may_descend(self, rel_dir: str) -> bool:
        """Whether a walk must look inside ``rel_dir``: it is included, or an exception could
        re-include something below it."""
        if not self.excludes(rel_dir):
            return True
        path = go_clean_path(rel_dir)
        return any(p.exception and p.may_match_below(path) for p in self.patterns)

    def walk_context(self, context_dir: str | os.PathLike[str]) -> Iterator[str]:
        """Every included entry below ``context_dir`` as a slash-separated relative path, parents
        before children, names sorted. Symlinks are not followed. An excluded directory with an
        included descendant is yielded just before that descendant (as BuildKit sends the parents
        of what it sends), so a consumer can recreate it with its own metadata."""
        root = os.fspath(context_dir)
        yield from self._walk(root, "", [])

    def _walk(self, root: str, rel_dir: str, pending: list[str]) -> Iterator[str]:
        directory = os.path.join(root, rel_dir) if rel_dir else root
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
        for entry in entries:
            rel = f"{rel_dir}/{entry.name}" if rel_dir else entry.name
            is_dir = entry.is_dir(follow_symlinks=False)
            if not self.excludes(rel):
                yield from pending
                pending.clear()
                yield rel
                if is_dir:
                    yield from self._walk(root, rel, pending)
            elif is_dir and self.may_descend(rel):
                depth = len(pending)
                pending.append(rel)
                yield from self._walk(root, rel, pending)
                del pending[depth:]  # nothing below was included: forget it
