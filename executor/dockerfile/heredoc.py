"""Heredocs (``RUN <<EOF``, ``COPY <<EOF /path``): BuildKit's ``parser/heredoc`` rules.

A heredoc marker is a whole word ``[n]<<[-]NAME`` of a RUN, COPY or ADD line in shell form. Its
body is the lines after the instruction up to a line that is exactly ``NAME`` (after stripping
leading tabs for ``<<-``); several markers on one line take their bodies in order. A ``NAME``
with any quote in it (``<<"EOF"``, ``<<'EOF'``) turns expansion of the body off.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor.dockerfile.errors import ShellExpansionError
from executor.dockerfile.shell_lexer import ShellLexer

__all__ = ["Heredoc", "HEREDOC_KEYWORDS", "chomp", "heredoc_marker", "heredoc_markers"]

HEREDOC_KEYWORDS = frozenset({"ADD", "COPY", "RUN"})

_MARKER = re.compile(r"^(\d*)<<(-?)([^<]*)\Z")
_LEADING_TABS = re.compile(r"^\t+", re.MULTILINE)
# Heredoc words are always lexed with a backslash escape, whatever the escape directive says.
_PLAIN = ShellLexer("\\", skip_unset_env=True)
_RAW_QUOTES = ShellLexer("\\", raw_quotes=True, skip_unset_env=True)
_RAW_WORDS = ShellLexer("\\", raw_quotes=True, raw_escapes=True)


@dataclass(frozen=True)
class Heredoc:
    """One heredoc: ``content`` is its body with every line's newline kept, exactly as written."""

    name: str
    expand: bool
    chomp: bool
    fd: int = 0
    content: str = ""

    def body(self) -> str:
        """The content with leading tabs removed for ``<<-``."""
        return chomp(self.content) if self.chomp else self.content


def chomp(content: str) -> str:
    return _LEADING_TABS.sub("", content)


def heredoc_marker(word: str) -> Heredoc | None:
    """The heredoc a single word announces, or None when the word is not a heredoc marker."""
    match = _MARKER.match(word)
    if match is None or not match.group(3):
        return None
    rest = match.group(3)
    try:
        words = _PLAIN.process_words(rest, {})
        raw = _RAW_QUOTES.process_words(rest, {})
    except ShellExpansionError:
        return None
    if len(words) != 1 or len(raw) != 1:
        return None
    # A quote removed anywhere in the name means the body is taken literally, as in a shell.
    quotes = words[0].count("'") + words[0].count('"')
    raw_quotes = raw[0].count("'") + raw[0].count('"')
    return Heredoc(name=words[0], expand=quotes == raw_quotes, chomp=match.group(2) == "-",
                   fd=int(match.group(1) or 0))


def heredoc_markers(line: str) -> list[Heredoc]:
    """Every heredoc announced on an instruction's logical line, in order."""
    if "<<" not in line:
        return []
    try:
        words = _RAW_WORDS.process_words(line, {})
    except ShellExpansionError:
        return []
    return [doc for doc in map(heredoc_marker, words) if doc is not None]
