"""Errors raised by the snapshot package: walking, indexing, writing and extracting layers."""

from __future__ import annotations

QUOTED_PREFIX = 80  # characters of a hostile name or value an error message may quote


def quoted(text: str | bytes, limit: int = QUOTED_PREFIX) -> str:
    """``text`` as a short escaped literal: at most ``limit`` characters of it, then how many
    more there were, so a hostile name never fills a log line."""
    if len(text) <= limit:
        return repr(text)
    return f"{text[:limit]!r}... ({len(text) - limit} more)"


class SnapshotError(Exception):
    """Base of every error the snapshot package raises."""


class UnsafeLayerEntry(SnapshotError):
    """A layer entry would write outside the root (``..``, absolute path, escaping symlink)."""

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(f"layer entry {quoted(entry)} escapes the root: {reason}")
        self.entry = entry
        self.reason = reason


class LayerFormatError(SnapshotError):
    """A layer stream is not a valid (compressed) tar archive, or its digest does not match."""


class ExtractError(SnapshotError):
    """A well-formed, safe layer entry could not be applied to the root (filesystem refused it)."""

    def __init__(self, entry: str, root: str, reason: str) -> None:
        super().__init__(f"cannot extract layer entry {quoted(entry)} into {root}: {reason}")
        self.entry = entry
        self.root = root
        self.reason = reason
