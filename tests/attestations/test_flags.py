"""--sbom and --provenance as the command line spells them."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.cli import parse_options
from executor.errors import UsageError


def _output(tmp_path: Path, *flags: str):  # type: ignore[no-untyped-def]
    return parse_options(["--context", str(tmp_path), "--no-push", *flags], env={}).output


@pytest.mark.parametrize(("flags", "sbom", "provenance"), [
    ((), False, ""),
    (("--sbom",), True, ""),
    (("--sbom=false", "--provenance"), False, "min"),
    (("--sbom=true", "--provenance=mode=max"), True, "max"),
    (("--provenance=false",), False, ""),
    (("--provenance=true",), False, "min"),
])
def test_flags(tmp_path: Path, flags: tuple[str, ...], sbom: bool, provenance: str) -> None:
    output = _output(tmp_path, *flags)
    assert (output.sbom, output.provenance) == (sbom, provenance)


@pytest.mark.parametrize(("flags", "fragment"), [
    (("--provenance=mode=full",), "expected mode=min or mode=max"),
    (("--sbom=maybe",), "expected true or false"),
    (("--sbom", "--custom-platform", "linux/amd64,linux/arm64"), "single-platform"),
])
def test_bad_values_are_usage_errors(tmp_path: Path, flags: tuple[str, ...], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        _output(tmp_path, *flags)
