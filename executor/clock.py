"""Timestamps for history and ``created``, passed in so builds and tests choose their clock."""

from __future__ import annotations

import datetime
from collections.abc import Callable

Clock = Callable[[], str]
SOURCE_DATE_EPOCH = "SOURCE_DATE_EPOCH"  # https://reproducible-builds.org/specs/source-date-epoch/


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def epoch() -> str:
    """--reproducible: every timestamp the epoch, as kaniko writes them."""
    return "1970-01-01T00:00:00Z"


def rfc3339(seconds: int) -> str:
    return datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fixed(seconds: int) -> Clock:
    """SOURCE_DATE_EPOCH: every timestamp this Unix time, as BuildKit writes it."""
    when = rfc3339(seconds)
    return lambda: when
