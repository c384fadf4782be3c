"""From Dockerfile text to logical lines: parser directives, comments and line continuations.

This mirrors BuildKit's ``parser.Parse`` line handling rather than ``dockerfile-parse``'s, which
differs where it matters for identical results: it honours ``# escape=`` anywhere in the file, ends
an instruction at an empty continuation line and drops an instruction whose last line ends in a
backslash at end of file. BuildKit's rules, kept here:

- Directives (``# escape=``, ``# syntax=``, ``# check=``) count only in the leading run of lines that
  are directives; the first other line (comment, blank line, instruction) ends that run.
- A line ending in the escape token (optionally followed by spaces or tabs) continues on the next
  line; the token and trailing blanks are removed and the lines are joined with nothing between.
  An escaped escape token at the end (``foo \\\\``) does not continue.
- Inside a continuation, comment lines and blank lines are skipped (blank ones are BuildKit's
  NoEmptyContinuation warning), and a continuation still open at end of file ends the instruction.
- The comment lines before an instruction are its ``comments`` (BuildKit's ``PrevComment``: a bare
  ``#`` starts them afresh, blank lines do not, directives are not comments); build checks read
  ``# check=skip=...`` and stage/ARG descriptions there.
- ``\\r\\n`` line endings and a UTF-8 byte order mark are accepted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.shell_lexer import is_go_space

__all__ = ["Directives", "LogicalLine", "SourceLines", "read_directives", "logical_lines"]

# Go's \s is [\t\n\f\r ]; spelled out so that Python's wider \s does not accept more.
_DIRECTIVE = re.compile(r"^#[\t\n\f\r ]*([a-zA-Z][a-zA-Z0-9]*)[\t\n\f\r ]*=[\t\n\f\r ]*(.+?)[\t\n\f\r ]*\Z")
_KNOWN_DIRECTIVES = ("escape", "syntax", "check")


@dataclass(frozen=True)
class Directives:
    """Parser directives from the top of the Dockerfile. lamina is its own frontend, so a
    ``# syntax=`` image is never run (``checks.syntax_notice`` says so when it is not a Dockerfile
    frontend); ``check`` configures the build checks (``checks.CheckConfig``). ``lines`` maps each
    directive found to its line; ``count`` is how many leading lines are directives."""

    escape: str = "\\"
    syntax: str | None = None
    check: str | None = None
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    count: int = field(default=0, compare=False)


@dataclass(frozen=True)
class LogicalLine:
    """One instruction's text after joining continuations; ``line``/``end_line`` are 1-based.
    ``comments`` are the comment lines before it (see the module docstring); ``empty_continuation``
    says a blank line was skipped inside its continuation."""

    text: str
    line: int
    end_line: int
    comments: tuple[str, ...] = ()
    empty_continuation: bool = False


def _lstrip_go(text: str) -> str:
    i = 0
    while i < len(text) and is_go_space(text[i]):
        i += 1
    return text[i:]


def _is_comment(raw: str) -> bool:
    return _lstrip_go(raw).startswith("#")


class SourceLines:
    """The physical lines of a Dockerfile with a cursor, so that a reader of heredoc bodies can
    take the lines that follow an instruction before the next instruction is read."""

    def __init__(self, text: str) -> None:
        if text.startswith("\ufeff"):
            text = text[1:]
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()  # the newline ending the last line does not start another
        self._lines = [line.rstrip("\r\n") for line in lines]
        self._next = 0

    @property
    def line_count(self) -> int:
        return len(self._lines)

    @property
    def current_line(self) -> int:
        """1-based number of the line last returned by ``next_line`` (0 before the first)."""
        return self._next

    def at_end(self) -> bool:
        return self._next >= len(self._lines)

    def next_line(self) -> str:
        line = self._lines[self._next]
        self._next += 1
        return line

    def peek_lines(self) -> list[str]:
        return self._lines[self._next :]


def read_directives(lines: SourceLines, dockerfile: str = "Dockerfile") -> Directives:
    """Parse the leading directive lines (without consuming any line)."""
    found: dict[str, str] = {}
    where: dict[str, int] = {}
    for number, raw in enumerate(lines.peek_lines(), start=1):
        match = _DIRECTIVE.match(_lstrip_go(raw))
        if match is None:
            break
        key = match.group(1).lower()
        if key not in _KNOWN_DIRECTIVES:
            break  # an unknown directive is a comment, and a comment ends the directives
        if key in found:
            raise DockerfileError(f"only one {key} parser directive can be used", number, dockerfile)
        value = match.group(2)
        if key == "escape" and value not in ("\\", "`"):
            raise DockerfileError(f"invalid escape token '{value}' does not match ` or \\", number, dockerfile)
        found[key] = value
        where[key] = number
    return Directives(escape=found.get("escape", "\\"), syntax=found.get("syntax"), check=found.get("check"),
                      lines=where, count=len(where))


def _continuation_regex(escape: str) -> re.Pattern[str]:
    e = re.escape(escape)
    return re.compile(rf"([^{e}]){e}[ \t]*\Z|^{e}[ \t]*\Z")


def _strip_comment(line: str) -> str:
    return "" if line.startswith("#") else line


def logical_lines(lines: SourceLines, escape: str, directive_lines: int = 0) -> Iterator[LogicalLine]:
    """Yield the instructions' logical lines; the generator reads ``lines`` lazily, so a consumer may
    take heredoc body lines from ``lines`` between two items. The first ``directive_lines`` lines
    are parser directives, not comments."""
    continuation = _continuation_regex(escape)

    def trim_continuation(text: str) -> tuple[str, bool]:
        if continuation.search(text):
            return continuation.sub(r"\1", text), False
        return text, True

    comments: list[str] = []
    while not lines.at_end():
        raw = lines.next_line()
        start = lines.current_line
        if _is_comment(raw) and start > directive_lines:
            # BuildKit drops the line's first byte, not its indentation: "  # a" is "# a"
            comment = raw[1:].strip()
            if comment:
                comments.append(comment)
            else:
                comments = []
        text, ended = trim_continuation(_strip_comment(_lstrip_go(raw)))
        if ended and text == "":
            continue
        empty_continuation = False
        while not ended and not lines.at_end():
            raw = lines.next_line()
            if _is_comment(raw):
                continue
            if _lstrip_go(raw) == "":
                empty_continuation = True  # BuildKit warns (NoEmptyContinuation) and goes on
                continue
            more, ended = trim_continuation(raw)
            text += more
        yield LogicalLine(text=text, line=start, end_line=lines.current_line, comments=tuple(comments),
                          empty_continuation=empty_continuation)
        comments = []
