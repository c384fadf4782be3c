"""What the cache holds for one step, in either store: an image with the layer the step added, or
with no layer at all for a step that changed no files. Its config's ``created`` drives --cache-ttl.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from executor.image import Image, Layer

log = logging.getLogger("lamina")

# A writer keeps its temporary file's mtime fresh; one untouched this long was stopped (killed,
# OOM, evicted) before it could remove it.


@dataclass(frozen=True)
class CachedStep:
    """A cache hit: the step's layer, or None when the step changed no files."""

    layer: Layer | None


def entry_image(key: str, layer: Layer | None, created: datetime.datetime) -> Image:
    """The image a store keeps under ``key``; its history has one entry either way, so tools that
    match history to layers (umoci) accept the empty one too."""
    when = created.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    history: dict[str, Any] = {"created": when, "created_by": f"lamina cache {key}"}
    if layer is None:
        history["empty_layer"] = True
    return Image(config={"architecture": "amd64", "os": "linux", "created": when,
                         "rootfs": {"type": "layers",
                                    "diff_ids": [layer.diff_id] if layer else []},
                         "history": [history]},
                 layers=(layer,) if layer else ())


def entry_diff_ids(config: dict[str, Any], layer_count: int) -> list[str] | None:
    """The entry's diff ids if its config and manifest agree on zero or one layer, else None."""
    diff_ids = (config.get("rootfs") or {}).get("diff_ids")
    if not isinstance(diff_ids, list) or len(diff_ids) != layer_count or layer_count > 1:
        return None
    if not all(isinstance(d, str) and d.startswith("sha256:") for d in diff_ids):
        return None
    return diff_ids


def entry_expired(config: dict[str, Any], ttl_seconds: float, now: datetime.datetime) -> bool:
    """True when the entry is older than --cache-ttl, or says no valid time."""
    created = parse_time(config.get("created"))
    return created is None or (now - created).total_seconds() > ttl_seconds


def parse_time(value: object) -> datetime.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)
