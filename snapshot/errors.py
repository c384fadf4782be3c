"""Errors raised by the snapshot package: walking, indexing, writing and extracting layers."""

from __future__ import annotations


class SnapshotError(Exception):
    """Base of every error the snapshot package raises."""


class UnsafeLayerEntry(SnapshotError):
    """A layer entry would write outside the root (``..``, absolute path, escaping symlink)."""

    def __init__(self, entry: str, reason: str) -> None:
        super().__init__(f"layer entry {entry!r} escapes the root: {reason}")
        self.entry = entry
        self.reason = reason


class LayerFormatError(SnapshotError):
    """A layer stream is not a valid (compressed) tar archive, or its digest does not match."""


class ExtractError(SnapshotError):
    """A well-formed, safe layer entry could not be applied to the root (filesystem refused it)."""

    def __init__(self, entry: str, root: str, reason: str) -> None:
        super().__init__(f"cannot extract layer entry {entry!r} into {root}: {reason}")
        self.entry = entry
        self.root = root
        self.reason = reason
