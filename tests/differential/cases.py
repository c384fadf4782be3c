"""Every differential case, from the corpus modules (one per area)."""

from __future__ import annotations

from tests.differential.corpus_core import CASES as CORE
from tests.differential.model import Case

CASES: list[Case] = [*CORE]

_names = [case.name for case in CASES]
assert len(_names) == len(set(_names)), "two differential cases share a name"
