"""Why a step missed the cache: its key's inputs (``step.inputs`` events, executor/cache/key.py)
compared, part by part, with those of the same step in the previous build's report.

A cache key is a digest; once it differs, the key alone cannot say why. The report keeps a
summary of every key's parts (the instruction as written, short digests of each build arg, run
config field and context file), and a build given ``--build-report FILE`` where FILE holds the
last build's report compares with it. The same step is the one at the same position in the
same stage (a step inserted earlier shifts the rest; they then say the instruction changed)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["FOLLOWS", "baseline_steps", "miss_reason"]

FOLLOWS = "an earlier step changed"  # the reason of a step whose only change is its parent

_MORE = 3  # names listed before "and N more"


def baseline_steps(report: Mapping[str, Any] | None) -> dict[tuple[int, int], dict[str, Any]]:
    """(stage index, position in the stage) -> the step as an earlier report has it."""
    found: dict[tuple[int, int], dict[str, Any]] = {}
    for stage in (report or {}).get("stages") or []:
        for position, step in enumerate(stage.get("steps") or []):
            if isinstance(step, dict):
                found[(int(stage.get("index", 0)), position)] = step
    return found


def _names(kind: str, names: Sequence[str]) -> str:
    shown = ", ".join(names[:_MORE]) + (f" and {len(names) - _MORE} more" if len(names) > _MORE else "")
    return f"{kind}{'s' if len(names) > 1 else ''} {shown} changed"


def _changed(now: Mapping[str, Any], then: Mapping[str, Any]) -> list[str]:
    return sorted(name for name in {*now, *then} if now.get(name) != then.get(name))


def miss_reason(inputs: Mapping[str, Any] | None, earlier: Mapping[str, Any] | None,
                earlier_missed_line: int | None, have_baseline: bool) -> str:
    """One line: what differs from ``earlier`` (the same step in the previous report).
    ``earlier_missed_line``: the line of the closest earlier step of this stage that missed or
    changed."""
    if inputs is None:
        return "not looked up in the cache"
    if not have_baseline:
        return "not in the cache (no earlier --build-report to compare with)"
    then = (earlier or {}).get("inputs")
    if not then:
        return "a new step (not in the earlier build)"
    if inputs.get("instruction") != then.get("instruction"):
        was = (then.get("instruction") or {}).get("original", "")
        return f"the instruction changed (was: {was})"
    files = _changed(inputs.get("files") or {}, then.get("files") or {})
    files += [f"{pattern} (matches)" for pattern in _changed(inputs.get("patterns") or {},
                                                             then.get("patterns") or {})]
    if files:
        return _names("context file", files)
    args = _changed(inputs.get("args") or {}, then.get("args") or {})
    if args:
        return _names("build arg", args)
    other = _changed(inputs.get("other") or {}, then.get("other") or {})
    if other:
        meaning = {"from": "the stage or image it copies from (--from)", "remote": "the remote source",
                   "timestamps": "how layer timestamps are written"}
        return "changed: " + ", ".join(meaning.get(name, name) for name in other)
    config = _changed(inputs.get("config") or {}, then.get("config") or {})
    if config:
        return _names("config field", config) + " (ENV, USER, WORKDIR, ... before it)"
    if inputs.get("parent") != then.get("parent"):
        if earlier_missed_line is not None:
            return f"{FOLLOWS} (line {earlier_missed_line}), so every key after it differs"
        return "the base image changed"
    if (earlier or {}).get("cache") == "hit":
        return "same inputs, but the cache no longer has it (expired or removed)"
    return "same inputs; the earlier build did not find or store it either"
