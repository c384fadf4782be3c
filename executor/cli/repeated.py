"""Repeatable flags whose values carry an id (``--secret id=...``, ``--ssh ID=...``): one value an id."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, TypeVar

from executor.errors import UsageError

__all__ = ["unique_ids"]


class _HasId(Protocol):
    @property
    def id(self) -> str: ...


T = TypeVar("T", bound=_HasId)


def unique_ids(flag: str, what: str, specs: Sequence[str], parse: Callable[[str], T]) -> tuple[T, ...]:
    """Each spec parsed; an id given twice is a usage error naming the flag and ``what`` it gives."""
    found: dict[str, T] = {}
    for spec in specs:
        value = parse(spec)
        if value.id in found:
            raise UsageError(f"{flag} {spec!r}: {what} with id {value.id!r} is given already")
        found[value.id] = value
    return tuple(found.values())
