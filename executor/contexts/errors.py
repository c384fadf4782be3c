"""Errors raised while fetching a build context or a remote Dockerfile."""

from __future__ import annotations

from executor.errors import LaminaError

__all__ = ["ContextError"]


class ContextError(LaminaError):
    """A build context could not be fetched or unpacked; the message names the source."""

    def __init__(self, source: str, reason: str, *, kind: str = "build context") -> None:
        super().__init__(f"{kind} {source}: {reason}")
        self.source = source
        self.reason = reason
