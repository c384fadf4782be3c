"""How check results are shown: a build logs each warning as BuildKit's one line
(``Rule: message (line N)``); ``--check`` prints what ``docker build --check`` does, each warning
with its rule, documentation URL, message and the Dockerfile lines around it."""

from __future__ import annotations

from executor.dockerfile.checks.check import CheckResult
from executor.dockerfile.checks.linter import CheckWarning
from executor.dockerfile.parser import Dockerfile

__all__ = ["check_report", "source_excerpt"]


def source_excerpt(text: str, filename: str, start: int, end: int) -> str:
    """BuildKit's ``errdefs.Source.Print``: the lines ``start``-``end`` marked ``>>>``, with
    context around them."""
    lines = text.split("\n")
    if start < 1 or start > len(lines):
        return ""
    end = min(max(end, start), len(lines))
    marked = range(start, end + 1)
    pad = 4 if end == start else 2
    first, last, padded = start, end, 0
    while padded < pad:
        if first > 1:
            first -= 1
            padded += 1
        if last != len(lines):
            last += 1
            padded += 1
        padded += 1
    out = [f"{filename}:{start}", "-" * 20]
    out += [f" {number:3d} | {'>>>' if number in marked else '   '} {lines[number - 1]}"
            for number in range(first, last + 1)]
    out.append("-" * 20)
    return "\n".join(out) + "\n"


def _warning(warning: CheckWarning, dockerfile: Dockerfile) -> str:
    text = f"\nWARNING: {warning.rule.name} - {warning.rule.url}\n{warning.message}\n"
    if warning.line > 0:
        text += source_excerpt(dockerfile.text, dockerfile.name, warning.line, warning.end_line)
    return text


def check_report(result: CheckResult, dockerfile: Dockerfile) -> str:
    """What ``docker build --check`` prints on stdout (buildx's ``printResult`` for ``lint``)."""
    count = len(result.warnings)
    out = ""
    if count:
        out += f"Check complete, {'1 warning has' if count == 1 else f'{count} warnings have'} been found!\n"
        out += "".join(_warning(warning, dockerfile) for warning in result.warnings)
    failure = result.error or result.violation
    if failure is not None:
        if count:
            out += "\n"
        message = str(failure)
        prefix = f"{dockerfile.name}:{failure.line}: " if failure.line else f"{dockerfile.name}: "
        out += message.removeprefix(prefix) + "\n"  # BuildKit's message; the excerpt says where
        if failure.line:
            out += source_excerpt(dockerfile.text, dockerfile.name, failure.line, failure.line)
    elif not count:
        out += "Check complete, no warnings found.\n"
    return out
