"""Timestamps for history and ``created``, passed in so builds and tests choose their clock."""

from __future__ import annotations

import datetime
from collections.abc import Callable

Clock = Callable[[], str]


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch() -> str:
    """--reproducible: every timestamp the epoch, as kaniko writes them."""
    return "1970-01-01T00:00:00Z"
