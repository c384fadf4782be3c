"""Go's ``regexp`` replacement semantics, for ``${VAR//pattern/replacement}``: ``$0`` in the
replacement is the match (``Regexp.Expand``) and an empty match right after a match is not replaced
(``ReplaceAllString``), where Python's ``re.sub`` differs."""

from __future__ import annotations

import re

__all__ = ["go_expand", "go_replace_all"]

_GO_TEMPLATE_REF = re.compile(r"\{(\w+)\}|(\w+)")


def go_expand(template: str, match: re.Match[str]) -> str:
    """Go's ``Regexp.Expand`` for a regex whose only group is the whole match: ``$0``/``${0}`` is the
    match, ``$$`` is ``$``, other names are empty, a malformed ``$`` stays literal."""
    out: list[str] = []
    rest = template
    while True:
        before, dollar, after = rest.partition("$")
        out.append(before)
        if not dollar:
            return "".join(out)
        if after.startswith("$"):
            out.append("$")
            rest = after[1:]
            continue
        ref = _GO_TEMPLATE_REF.match(after)
        if ref is None:
            out.append("$")
            rest = after
            continue
        name = ref.group(1) or ref.group(2)
        if name.isascii() and name.isdigit() and int(name) == 0:
            out.append(match.group(0))
        rest = after[ref.end() :]


def go_replace_all(regex: re.Pattern[str], value: str, template: str) -> str:
    """Go's ``ReplaceAllString``: unlike ``re.sub``, an empty match right after a match is not replaced."""
    out: list[str] = []
    last_match_end = 0
    search_pos = 0
    while search_pos <= len(value):
        match = regex.search(value, search_pos)
        if match is None:
            break
        out.append(value[last_match_end : match.start()])
        if match.end() > last_match_end or match.start() == 0:
            out.append(go_expand(template, match))
        last_match_end = match.end()
        search_pos = search_pos + 1 if match.end() <= search_pos else match.end()
    out.append(value[last_match_end:])
    return "".join(out)
