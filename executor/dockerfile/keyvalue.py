"""ENV, LABEL and ARG arguments: splitting into pairs, then substitution and quote removal.

Splitting follows BuildKit's ``parseNameVal`` / ``parseNameOrNameVal``: words are split on unquoted,
unescaped whitespace with quotes and escapes kept, then at the first ``=``. If the first word of
ENV/LABEL has no ``=``, it is the legacy form ``ENV KEY the rest of the line``. Expansion then runs
``ShellLexer.process_word`` on each key and each value with one environment: the one in effect
before the instruction, so ``ENV a=2 b=$a`` gives ``b`` the previous ``a`` (as Docker does).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.shell_lexer import ShellLexer
from executor.dockerfile.words import split_words

__all__ = [
    "arg_pairs",
    "expand_pairs",
    "split_words",
    "split_key_values",
    "split_arg_pairs",
    "parse_env",
    "parse_label",
    "parse_arg",
]

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")


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
    pairs = arg_pairs(words)
    if any(key == "" and value is not None for key, value in pairs):
        raise DockerfileError("ARG names can not be blank", line, dockerfile)
    return pairs


def arg_pairs(words: list[str]) -> list[tuple[str, str | None]]:
    """ARG's raw words (``split_words``) as ``(name, default or None)`` pairs."""
    pairs: list[tuple[str, str | None]] = []
    for word in words:
        key, eq, value = word.partition("=")
        pairs.append((key, value if eq else None))
    return pairs


def expand_pairs(
    pairs: Iterable[tuple[str, str | None]],
    env: Mapping[str, str],
    *,
    escape: str = "\\",
    line: int | None = None,
    dockerfile: str = "Dockerfile",
) -> list[tuple[str, str | None]]:
    """Raw pairs with ``$VAR`` substituted and quotes removed in each key and value, all against
    ``env`` as it was before the instruction."""
    lexer = ShellLexer(escape)
    before = dict(env)  # one snapshot for every pair of the instruction
    out: list[tuple[str, str | None]] = []
    for key, value in pairs:
        new_key = lexer.process_word(key, before, line=line, dockerfile=dockerfile)
        new_value = None if value is None else lexer.process_word(value, before, line=line, dockerfile=dockerfile)
        out.append((new_key, new_value))
    return out


@dataclass(frozen=True)
class _KeyValueParser:
    """``parse_env`` and ``parse_label``: one body, the keyword only names the instruction in errors."""

    keyword: str

    def __call__(
        self,
        text: str,
        env: Mapping[str, str],
        *,
        escape: str = "\\",
        line: int | None = None,
        dockerfile: str = "Dockerfile",
    ) -> list[tuple[str, str]]:
        """ENV/LABEL arguments as expanded ``(key, value)`` pairs, in order (a later duplicate wins)."""
        raw = split_key_values(text, self.keyword, escape=escape, line=line, dockerfile=dockerfile)
        return [(k, v or "") for k, v in expand_pairs(raw, env, escape=escape, line=line, dockerfile=dockerfile)]


parse_env = _KeyValueParser("ENV")
parse_label = _KeyValueParser("LABEL")


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
    return expand_pairs(raw, env, escape=escape, line=line, dockerfile=dockerfile)
