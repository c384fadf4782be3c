"""Every differential case, from the corpus modules (one per area)."""

from __future__ import annotations

from tests.differential.corpus_buildkit import CASES as BUILDKIT
from tests.differential.corpus_config import CASES as CONFIG
from tests.differential.corpus_copy_args import CASES as COPY_ARGS
from tests.differential.corpus_core import CASES as CORE
from tests.differential.corpus_files import CASES as FILES_CASES
from tests.differential.corpus_identity import CASES as IDENTITY
from tests.differential.model import Case

CASES: list[Case] = [*CORE, *IDENTITY, *FILES_CASES, *CONFIG]
CASES += COPY_ARGS
CASES += BUILDKIT

_names = [case.name for case in CASES]
assert len(_names) == len(set(_names)), "two differential cases share a name"
