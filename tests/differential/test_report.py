"""The recorded disagreements are published, and each says who is right and why."""

from __future__ import annotations

from tests.differential import report
from tests.differential.cases import CASES

BUILDERS = {"docker", "buildah"}


def test_docs_differential_is_up_to_date() -> None:
    assert report.main(["--check"]) == 0


def test_every_disagreement_names_a_builder_a_winner_and_a_reason() -> None:
    for case in CASES:
        for d in case.disagreements:
            assert d.builder in BUILDERS, (case.name, d)
            assert d.right in BUILDERS | {"lamina"}, (case.name, d)
            assert len(d.why) > 20, (case.name, d)
