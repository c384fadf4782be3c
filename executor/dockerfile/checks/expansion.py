"""Expansion that notes which variables it looked up (BuildKit's ``ProcessWordWithMatches``), and
the "did you mean" of BuildKit's ``util/suggest``."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

__all__ = ["RecordingEnv", "suggest"]


class RecordingEnv(Mapping[str, str]):
    """``env`` as the shell lexer sees it, remembering each name looked up: ``matched`` were set,
    ``unmatched`` were not (in the order first met)."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.matched: dict[str, None] = {}
        self.unmatched: dict[str, None] = {}

    def __contains__(self, name: object) -> bool:
        found = name in self.env
        if isinstance(name, str):
            (self.matched if found else self.unmatched).setdefault(name, None)
        return found

    def __getitem__(self, name: str) -> str:
        return self.env[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.env)

    def __len__(self) -> int:
        return len(self.env)


def _levenshtein(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def suggest(value: str, options: Iterable[str]) -> str:
    """The closest option at an edit distance under 3 (the first of equals), or ""; "" too when
    ``value`` itself is an option. Case-sensitive, as BuildKit on Linux."""
    match, best = "", 3
    for option in options:
        if option == value:
            return ""
        distance = _levenshtein(value, option)
        if distance < best:
            match, best = option, distance
    return match
