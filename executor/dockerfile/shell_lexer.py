"""Docker's ``$VAR`` substitution and quote removal: a port of BuildKit's ``frontend/dockerfile/shell/lex.go``.

``ShellLexer.process_word`` is what Docker applies to FROM, WORKDIR, USER, STOPSIGNAL, ENV/LABEL/ARG
keys and values and each COPY/ADD/VOLUME argument; ``process_words`` additionally splits the
expanded text on unquoted whitespace (EXPOSE). The behaviour, including its quirks (a
``${X:-'a}`` at end of input reports a missing ``}``; ``${X//p/r}`` expands ``$0`` in ``r`` the
way Go's ``Regexp.ReplaceAllString`` does), follows BuildKit so that images come out identical.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass

from executor.dockerfile.errors import ShellExpansionError
from executor.dockerfile.go_regexp import go_replace_all
from executor.dockerfile.words import WordCollector, is_go_space

__all__ = ["ShellLexer", "is_go_space"]

_EOF = ""
_SPECIAL_PARAMS = frozenset("@*#?-$!0")
def _go_quote(text: str) -> str:
    """Close to Go's ``%q``, for error messages that quote the input."""
    return json.dumps(text, ensure_ascii=False)


@dataclass(frozen=True)
class ShellLexer:
    """Word expansion with Docker's rules; ``escape`` is the Dockerfile's escape token (``\\`` or `````).

    ``raw_quotes`` keeps quote characters in the output, ``raw_escapes`` keeps escape characters and
    ``skip_unset_env`` leaves references to unset variables as written: BuildKit uses these three to
    recognise heredoc markers; ordinary expansion leaves them off. ``skip_process_quotes`` treats
    quotes as plain characters (BuildKit's ``SkipProcessQuotes``, used to expand the body of an
    unquoted ``COPY <<EOF`` heredoc, where ``'$X'`` is still expanded and the quotes stay).
    """

    escape: str = "\\"
    raw_quotes: bool = False
    raw_escapes: bool = False
    skip_unset_env: bool = False
    skip_process_quotes: bool = False

    def __post_init__(self) -> None:
        if self.escape not in ("\\", "`"):
            raise ValueError(f"escape token must be \\ or `, not {self.escape!r}")

    def process_word(
        self, word: str, env: Mapping[str, str], *, line: int | None = None, dockerfile: str = "Dockerfile"
    ) -> str:
        """``word`` with variables substituted and quotes/escapes removed (inner whitespace kept)."""
        return self._process(word, env, line, dockerfile)[0]

    def process_words(
        self, text: str, env: Mapping[str, str], *, line: int | None = None, dockerfile: str = "Dockerfile"
    ) -> list[str]:
        """``text`` expanded, then split on whitespace that was neither quoted nor escaped.

        Whitespace coming from a variable's value splits too (``$PORTS`` = ``"80 443"`` gives two
        words), as in Docker's ``ProcessWords``.
        """
        return self._process(text, env, line, dockerfile)[1]

    def _process(
        self, word: str, env: Mapping[str, str], line: int | None, dockerfile: str
    ) -> tuple[str, list[str]]:
        try:
            return _ShellWord(self, word, env).process_stop_on(None, self.raw_escapes)
        except ShellExpansionError as exc:
            raise ShellExpansionError(
                f"failed to process {_go_quote(word)}: {exc.detail}", line, dockerfile
            ) from None


class _ShellWord:
    """One expansion in progress: a cursor over the input plus the lexer's options."""

    def __init__(self, lexer: ShellLexer, text: str, env: Mapping[str, str]) -> None:
        self.lexer = lexer
        self.text = text
        self.pos = 0
        self.env = env
        self.raw_escapes = lexer.raw_escapes

    # -- cursor (Go's text/scanner Peek/Next) --
    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else _EOF

    def next(self) -> str:
        if self.pos >= len(self.text):
            return _EOF
        ch = self.text[self.pos]
        self.pos += 1
        return ch

    # -- the grammar --
    def process_stop_on(self, stop: str | None, raw_escapes: bool) -> tuple[str, list[str]]:
        """Read up to the unquoted ``stop`` character (consumed), or to the end when ``stop`` is None."""
        saved, self.raw_escapes = self.raw_escapes, raw_escapes
        try:
            return self._process_stop_on(stop)
        finally:
            self.raw_escapes = saved

    def _process_stop_on(self, stop: str | None) -> tuple[str, list[str]]:
        result: list[str] = []
        words = WordCollector()
        escape = self.lexer.escape
        while self.peek() != _EOF:
            ch = self.peek()
            if stop is not None and ch == stop:
                self.next()
                return "".join(result), words.get_words()
            if ch == "$":
                expanded = self.process_dollar()
                result.append(expanded)
                words.add_string(expanded)
            elif ch in ("'", '"') and self.lexer.skip_process_quotes:
                words.add_raw_char(self.next())
                result.append(ch)
            elif ch == "'":
                quoted = self.process_single_quote()
                result.append(quoted)
                words.add_raw_string(quoted)
            elif ch == '"':
                quoted = self.process_double_quote()
                result.append(quoted)
                words.add_raw_string(quoted)
            else:
                ch = self.next()
                if ch == escape:
                    if self.raw_escapes:
                        words.add_raw_char(ch)
                        result.append(ch)
                    ch = self.next()
                    if ch == _EOF:  # an escape at the very end is dropped
                        break
                    words.add_raw_char(ch)
                else:
                    words.add_char(ch)
                result.append(ch)
        if stop is not None:
            raise ShellExpansionError(f"unexpected end of statement while looking for matching {stop}")
        return "".join(result), words.get_words()

    def process_single_quote(self) -> str:
        # Everything up to the next ' is literal; a ' cannot be escaped inside single quotes.
        result: list[str] = []
        ch = self.next()
        if self.lexer.raw_quotes:
            result.append(ch)
        while True:
            ch = self.next()
            if ch == _EOF:
                raise ShellExpansionError("unexpected end of statement while looking for matching single-quote")
            if ch == "'":
                if self.lexer.raw_quotes:
                    result.append(ch)
                return "".join(result)
            result.append(ch)

    def process_double_quote(self) -> str:
        # Literal except $ expansions; the escape token escapes only " $ and itself, else it stays.
        result: list[str] = []
        escape = self.lexer.escape
        ch = self.next()
        if self.lexer.raw_quotes:
            result.append(ch)
        while True:
            peeked = self.peek()
            if peeked == _EOF:
                raise ShellExpansionError("unexpected end of statement while looking for matching double-quote")
            if peeked == '"':
                ch = self.next()
                if self.lexer.raw_quotes:
                    result.append(ch)
                return "".join(result)
            if peeked == "$":
                result.append(self.process_dollar())
                continue
            ch = self.next()
            if ch == escape:
                if self.raw_escapes:
                    result.append(ch)
                following = self.peek()
                if following == _EOF:
                    continue  # reported as the missing closing quote on the next turn
                if following in ('"', "$", escape):
                    ch = self.next()
            result.append(ch)

    def process_dollar(self) -> str:
        self.next()  # the $
        if self.peek() != "{":
            name = self.process_name()
            if not name:
                return "$"
            value, found = self.get_env(name)
            if not found and self.lexer.skip_unset_env:
                return "$" + name
            return value

        self.next()  # the {
        peeked = self.peek()
        if peeked == _EOF:
            raise ShellExpansionError("syntax error: missing '}'")
        if peeked in ("{", "}", ":"):  # ${{x}, ${:x}, ${:}, ${}
            raise ShellExpansionError("syntax error: bad substitution")
        name = self.process_name()
        ch = self.next()
        modifier = ch
        if ch == "}":
            value, found = self.get_env(name)
            if not found and self.lexer.skip_unset_env:
                return "${" + name + "}"
            return value
        if ch == _EOF:
            raise ShellExpansionError("syntax error: missing '}'")
        null_is_unset = False
        if ch == ":":
            null_is_unset = True
            ch = self.next()
            modifier += ch
        if null_is_unset or ch in ("+", "-", "?", "#", "%"):
            return self._apply_modifier(name, ch, modifier, null_is_unset)
        if ch == "/":
            return self._substitute(name)
        raise ShellExpansionError(f"unsupported modifier ({modifier}) in substitution")

    def _apply_modifier(self, name: str, ch: str, modifier: str, null_is_unset: bool) -> str:
        try:
            word, _ = self.process_stop_on("}", ch in ("#", "%"))
        except ShellExpansionError:
            if self.peek() == _EOF:
                raise ShellExpansionError("syntax error: missing '}'") from None
            raise
        value, is_set = self.get_env(name)
        if self.lexer.skip_unset_env and not is_set:
            return "${" + name + modifier + word + "}"
        unset_or_null = not is_set or (null_is_unset and value == "")
        if ch == "-":
            return word if unset_or_null else value
        if ch == "+":
            return "" if unset_or_null else word
        if ch == "?":
            if not is_set:
                raise ShellExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
            if null_is_unset and value == "":
                raise ShellExpansionError(f"{name}: {word or 'is not allowed to be empty'}")
            return value
        if ch in ("#", "%"):
            # # and % remove the shortest match, ## and %% the longest.
            greedy = word.startswith(ch)
            if greedy:
                word = word[1:]
            if ch == "%":
                return _trim_suffix(word, value, greedy)
            return _trim_prefix(word, value, greedy)
        raise ShellExpansionError(f"unsupported modifier ({modifier}) in substitution")

    def _substitute(self, name: str) -> str:
        replace_all = self.peek() == "/"
        if replace_all:
            self.next()
        try:
            pattern, _ = self.process_stop_on("/", True)
        except ShellExpansionError:
            if self.peek() == _EOF:
                raise ShellExpansionError("syntax error: missing '/' in ${}") from None
            raise
        try:
            replacement, _ = self.process_stop_on("}", True)
        except ShellExpansionError:
            if self.peek() == _EOF:
                raise ShellExpansionError("syntax error: missing '}'") from None
            raise
        value, is_set = self.get_env(name)
        if self.lexer.skip_unset_env and not is_set:
            return "${" + name + "/" + pattern + "/" + replacement + "}"
        regex = _shell_pattern_to_regex(pattern, greedy=True, anchored=False)
        if replace_all:
            return go_replace_all(regex, value, replacement)
        match = regex.search(value)
        if match is None:
            return value
        return value[: match.start()] + replacement + value[match.end() :]

    def process_name(self) -> str:
        # A name is letters, digits and _; a leading digit run ($1) or one special parameter ($$, $?) ends it.
        name: list[str] = []
        while self.peek() != _EOF:
            ch = self.peek()
            if not name and ch.isdecimal():
                while self.peek() != _EOF and self.peek().isdecimal():
                    name.append(self.next())
                return "".join(name)
            if not name and ch in _SPECIAL_PARAMS:
                return self.next()
            if not (ch.isalpha() or ch.isdecimal() or ch == "_"):
                break
            name.append(self.next())
        return "".join(name)

    def get_env(self, name: str) -> tuple[str, bool]:
        if name in self.env:
            return self.env[name], True
        return "", False


def _shell_pattern_to_regex(pattern: str, *, greedy: bool, anchored: bool) -> re.Pattern[str]:
    """A ``${VAR#pattern}`` wildcard (``*``, ``?``, ``\\`` escapes; no ``[...]``) as a regex."""
    out: list[str] = ["^"] if anchored else []
    star = ".*" if greedy else ".*?"
    i = 0
    while i < len(pattern):
        tok = pattern[i]
        i += 1
        if tok == "*":
            out.append(star)
        elif tok == "?":
            out.append(".")
        elif tok == "\\":
            following = pattern[i] if i < len(pattern) else _EOF
            if following in ("}", "/") and following != _EOF:
                continue  # escaped only to get past the ${} parser; not part of the pattern
            i += 1
            if following not in ("*", "?", "\\") or following == _EOF:
                raise ShellExpansionError(
                    f"invalid pattern ({pattern}) in substitution: invalid escape '\\{following}'"
                )
            out.append(re.escape(following))
        else:
            out.append(re.escape(tok))
    return re.compile("".join(out))


def _trim_prefix(pattern: str, value: str, greedy: bool) -> str:
    match = _shell_pattern_to_regex(pattern, greedy=greedy, anchored=True).search(value)
    return value[match.end() :] if match else value


def _reverse_pattern(pattern: str) -> str:
    # Reverse, keeping each escape before the character it escapes: a\*c -> c\*a.
    out = [""] * len(pattern)
    last = len(pattern) - 1
    i = 0
    while i <= last:
        tok = pattern[i]
        out_idx = last - i
        if tok == "\\" and i != last:
            out[out_idx - 1] = tok
            out[out_idx] = pattern[i + 1]
            i += 2
        else:
            out[out_idx] = tok
            i += 1
    return "".join(out)


def _trim_suffix(pattern: str, value: str, greedy: bool) -> str:
    # A regex cannot find the shortest rightmost match, so reverse both and trim a prefix.
    return _trim_prefix(_reverse_pattern(pattern), value[::-1], greedy)[::-1]
