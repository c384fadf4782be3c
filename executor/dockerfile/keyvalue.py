"""ENV, LABEL and ARG arguments: splitting into pairs, then substitution and quote removal.

Splitting follows BuildKit's ``parseNameVal`` / ``parseNameOrNameVal``: words are split on unquoted,
unescaped whitespace with quotes and escapes kept, then at the first ``=``. If the first word of
ENV/LABEL has no ``=``, it is the legacy form ``ENV KEY the rest of the line``. Expansion then runs
``ShellLexer.process_word`` on each key and each value with one environment: the one in effect
before the instruction, so ``ENV a=2 b=$a`` gives ``b`` the previous ``a`` (as Docker does).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.shell_lexer import ShellLexer, is_go_space

__all__ = [
    "split_words",
    "split_key_values",
    "split_arg_pairs",
    "parse_env",
    "parse_label",
    "parse_arg",
]

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


def split_words(text: str, escape: str = "\\") -> list[str]:
    """BuildKit's ``parseWords``: split on whitespace outside quotes, keeping quotes and escapes."""
    words: list[str] = []
    in_spaces, in_word, in_quote = 0, 1, 2
    phase = in_spaces
    quote = ""
    blank_ok = False
    word: list[str] = []
    n = len(text)
    pos = 0
    while pos <= n:
        ch = text[pos] if pos < n else ""
        if phase == in_spaces:
            if pos == n:
                break
            if is_go_space(ch):
                pos += 1
                continue
            phase = in_word
        if pos == n:
            if blank_ok or word:
                words.append("".join(word))
            break
        if phase == in_word:
            if is_go_space(ch):
                phase = in_spaces
                if blank_ok or word:
                    words.append("".join(word))
                word = []
                blank_ok = False
                pos += 1
                continue
            if ch in ("'", '"'):
                quote = ch
                blank_ok = True
                phase = in_quote
            if ch == escape:
                if pos + 1 == n:
                    pos += 1  # an escape at the end of the line is dropped
                    continue
                word.append(ch)  # kept, with the character it escapes, for process_word
                pos += 1
                ch = text[pos]
            word.append(ch)
            pos += 1
            continue
        # in a quote
        if ch == quote:
            phase = in_word
        if ch == escape and quote != "'":
            if pos + 1 == n:
                phase = in_word
                pos += 1
                continue
            word.append(ch)
            pos += 1
            ch = text[pos]
        word.append(ch)
        pos += 1
    return words


def split_key_values(
    text: str, keyword: str, *, escape: str = "\\", line: int | None = None, dockerfile: str = "Dockerfile"
) -> list[tuple[str, str]]:
    """ENV/LABEL arguments as raw (unexpanded, still quoted) ``(key, value)`` pairs."""

    def fail(message: str) -> DockerfileError:
        return DockerfileError(message, line, dockerfile)

    words = split_words(text, escape)
    if not words:
        raise fail(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        parts = _WHITESPACE.split(text.strip(), maxsplit=1)
        if len(parts) < 2:
            raise fail(f"{keyword} must have two arguments (KEY=VALUE, or the legacy KEY VALUE)")
        pairs = [(parts[0], parts[1])]
    else:
        pairs = []
        for word in words:
            if "=" not in word:
                raise fail(f"Syntax error - can't find = in {word!r}. Must be of the form: name=value")
            key, _, value = word.partition("=")
            pairs.append((key, value))
    for key, _ in pairs:
        if key == "":
            raise fail(f"{keyword} names can not be blank")
    return pairs


def split_arg_pairs(
    text: str, *, escape: str = "\\", line: int | None = None, dockerfile: str = "Dockerfile"
) -> list[tuple[str, str | None]]:
    """ARG arguments as raw ``(name, default)`` pairs; ``default`` is None for a bare ``ARG NAME``."""
    words = split_words(text, escape)
    if not words:
        raise DockerfileError("ARG requires at least one argument", line, dockerfile)
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, eq, value = word.partition("=")
        if eq and key == "":
            raise DockerfileError("ARG names can not be blank", line, dockerfile)
        pairs.append((key, value if eq else None))
    return pairs


def _expand(
    pairs: list[tuple[str, str | None]],
    env: Mapping[str, str],
    escape: str,
    line: int | None,
    dockerfile: str,
) -> list[tuple[str, str | None]]:
    lexer = ShellLexer(escape)
    before = dict(env)  # one snapshot for every pair of the instruction
    out: list[tuple[str, str | None]] = []
    for key, value in pairs:
        new_key = lexer.process_word(key, before, line=line, dockerfile=dockerfile)
        new_value = None if value is None else lexer.process_word(value, before, line=line, dockerfile=dockerfile)
        out.append((new_key, new_value))
    return out


def parse_env(
    text: str,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    line: int | None = None,
    dockerfile: str = "Dockerfile",
) -> list[tuple[str, str]]:
    """ENV arguments as expanded ``(key, value)`` pairs, in order (a later duplicate key wins)."""
    raw = split_key_values(text, "ENV", escape=escape, line=line, dockerfile=dockerfile)
    return [(k, v or "") for k, v in _expand(list(raw), env, escape, line, dockerfile)]


def parse_label(
    text: str,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    line: int | None = None,
    dockerfile: str = "Dockerfile",
) -> list[tuple[str, str]]:
    """LABEL arguments as expanded ``(key, value)`` pairs, in order."""
    raw = split_key_values(text, "LABEL", escape=escape, line=line, dockerfile=dockerfile)
    return [(k, v or "") for k, v in _expand(list(raw), env, escape, line, dockerfile)]


def parse_arg(
    text: str,
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    line: int | None = None,
    dockerfile: str = "Dockerfile",
) -> list[tuple[str, str | None]]:
    """ARG arguments as expanded ``(name, default or None)`` pairs, in order."""
    raw = split_arg_pairs(text, escape=escape, line=line, dockerfile=dockerfile)
    return _expand(raw, env, escape, line, dockerfile)
