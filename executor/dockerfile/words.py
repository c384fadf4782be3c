"""Splitting instruction text into words: BuildKit's ``parseWords`` (ARG, ENV and LABEL arguments)
and ``extractBuilderFlags`` (the leading ``--flag`` words), which are one state machine in two modes,
and the word collector ``ShellLexer.process_words`` fills while it expands.
"""

from __future__ import annotations

import re

__all__ = ["WordCollector", "extract_flag_words", "is_go_space", "split_words"]

# Python's str.isspace also accepts the ASCII file/group/record/unit separators; Go's does not.
_NOT_GO_SPACE = frozenset("\x1c\x1d\x1e\x1f")
# The same set as a regex: ``\s`` is str.isspace for str patterns.
_GO_SPACES = re.compile(r"[^\S\x1c-\x1f]+")


def is_go_space(ch: str) -> bool:
    """Go's ``unicode.IsSpace`` for one character."""
    return ch.isspace() and ch not in _NOT_GO_SPACE


def split_words(text: str, escape: str = "\\") -> list[str]:
    """BuildKit's ``parseWords``: split on whitespace outside quotes, keeping quotes and escapes
    (for ``process_word`` to remove later); inside single quotes the escape is an ordinary character."""
    return _WordScanner(text, escape, raw=True).scan(flags_only=False)[0]


def extract_flag_words(text: str) -> tuple[str, list[str]]:
    """Split ``text`` (what follows the keyword) into its leading ``--flag`` words, with quotes and
    escapes removed, and the rest of the text.

    The first word not starting with ``--`` (or a bare ``--``) ends the flags; within a flag word
    ``\\`` escapes the next character, also inside single quotes, whatever the escape directive says
    (BuildKit's ``extractBuilderFlags``)."""
    words, rest = _WordScanner(text, "\\", raw=False).scan(flags_only=True)
    return rest, words


class _WordScanner:
    """One pass over ``text``. ``raw`` keeps quotes and escapes in the words (``parseWords``);
    without it they are removed and the escape works inside single quotes too (flag words)."""

    def __init__(self, text: str, escape: str, *, raw: bool) -> None:
        self.text = text
        self.escape = escape
        self.raw = raw

    def scan(self, *, flags_only: bool) -> tuple[list[str], str]:
        """The words and, with ``flags_only``, the text from the first word that is not a flag."""
        text, n, pos = self.text, len(self.text), 0
        words: list[str] = []
        while True:
            while pos < n and is_go_space(text[pos]):
                pos += 1
            if pos == n:
                return words, ""
            if flags_only and not text.startswith("--", pos):
                return words, text[pos:]
            word, quoted, pos = self._word(pos)
            if flags_only and word == "--":
                return words, text[pos:]
            if quoted or word:  # a quoted empty word ("") is still a word
                words.append(word)

    def _word(self, pos: int) -> tuple[str, bool, int]:
        """The word starting at ``pos``, whether it held a quote, and where it ended."""
        text, n, escape, raw = self.text, len(self.text), self.escape, self.raw
        parts: list[str] = []
        quote = ""
        quoted = False
        while pos < n:
            ch = text[pos]
            if quote:
                if ch == quote:
                    quote = ""
                elif ch == escape and (not raw or quote != "'"):
                    if pos + 1 == n:
                        pos = n  # an escape at the end of the text is dropped
                        break
                    if raw:
                        parts.append(ch)
                    pos += 1
                    ch = text[pos]
                if raw or quote:
                    parts.append(ch)
                pos += 1
                continue
            if is_go_space(ch):
                break
            if ch in ("'", '"'):
                quote, quoted = ch, True
                if raw:
                    parts.append(ch)
                pos += 1
                continue
            if ch == escape:
                if pos + 1 == n:
                    pos = n
                    break
                if raw:
                    parts.append(ch)
                pos += 1
                ch = text[pos]
            parts.append(ch)
            pos += 1
        return "".join(parts), quoted, pos


class WordCollector:
    """The word splitter running alongside expansion (BuildKit's ``wordsStruct``): characters are
    collected as parts joined once per word, so building a long word stays linear."""

    def __init__(self) -> None:
        self._parts: list[str] = []
        self._words: list[str] = []

    def _end_word(self) -> None:
        if self._parts:
            word = "".join(self._parts)
            if word:
                self._words.append(word)
            self._parts = []

    def add_char(self, ch: str) -> None:
        if is_go_space(ch):
            self._end_word()
        else:
            self._parts.append(ch)

    def add_raw_char(self, ch: str) -> None:
        self._parts.append(ch)

    def add_string(self, text: str) -> None:
        """``add_char`` for every character of ``text``: unquoted whitespace in it splits words."""
        first, *rest = _GO_SPACES.split(text)
        if first:
            self._parts.append(first)
        for piece in rest:
            self._end_word()
            if piece:
                self._parts.append(piece)

    def add_raw_string(self, text: str) -> None:
        if text:
            self._parts.append(text)

    def get_words(self) -> list[str]:
        self._end_word()
        return self._words
