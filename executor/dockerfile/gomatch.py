"""Go's ``path/filepath.Match`` for one path component: the wildcard syntax of COPY/ADD sources.

``*`` is any run of characters, ``?`` one character, ``[a-z]`` / ``[^a-z]`` a class (``^`` negates;
``!`` is an ordinary character, unlike fnmatch), ``\\`` escapes the next character. A malformed
pattern is an error, as Go's ``ErrBadPattern``, rather than a literal.
"""

from __future__ import annotations

import functools
import re

__all__ = ["check_syntax", "go_match"]


def check_syntax(pattern: str) -> None:
    """Raise ``ValueError`` where Go's ``filepath.Match`` would return ``ErrBadPattern``."""
    _translate(pattern)


def go_match(pattern: str, name: str) -> bool:
    """Whether ``name`` (no ``/`` in it) matches ``pattern``; ``ValueError`` for a bad pattern."""
    return _compiled(pattern).fullmatch(name) is not None


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(_translate(pattern), re.DOTALL)


def _translate(pattern: str) -> str:
    out: list[str] = []
    n, i = len(pattern), 0
    while i < n:
        ch = pattern[i]
        i += 1
        if ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        elif ch == "\\":
            if i >= n:
                raise ValueError("syntax error in pattern: trailing backslash")
            out.append(re.escape(pattern[i]))
            i += 1
        elif ch == "[":
            regex, i = _character_class(pattern, i)
            out.append(regex)
        else:
            out.append(re.escape(ch))
    return "".join(out)


def _class_char(pattern: str, i: int) -> tuple[str, int]:
    """One (possibly escaped) character of a class, at ``i``; Go refuses ``-`` and ``]`` there."""
    if i >= len(pattern) or pattern[i] in "-]":
        raise ValueError("syntax error in pattern: bad character class")
    if pattern[i] == "\\":
        i += 1
        if i >= len(pattern):
            raise ValueError("syntax error in pattern: trailing backslash")
    return pattern[i], i + 1


def _character_class(pattern: str, i: int) -> tuple[str, int]:
    """The regex of the class whose ``[`` ends just before ``i``, and the index after its ``]``."""
    negated = i < len(pattern) and pattern[i] == "^"
    if negated:
        i += 1
    items: list[str] = []
    ranges = 0
    while True:
        if i < len(pattern) and pattern[i] == "]" and ranges:
            i += 1
            break
        low, i = _class_char(pattern, i)
        high = low
        if i < len(pattern) and pattern[i] == "-":
            high, i = _class_char(pattern, i + 1)
        if i >= len(pattern):
            raise ValueError("syntax error in pattern: unterminated character class")
        ranges += 1
        if low <= high:  # Go's inverted range matches nothing; a regex would not compile
            items.append(re.escape(low) if low == high else f"{re.escape(low)}-{re.escape(high)}")
    if not items:
        return ("." if negated else "(?!)"), i
    return "[" + ("^" if negated else "") + "".join(items) + "]", i
