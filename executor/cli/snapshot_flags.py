"""kaniko's snapshot and layer flags: --snapshot-mode, --single-snapshot, --compression,
--compression-level, --reproducible; and lamina's --source-date-epoch (or SOURCE_DATE_EPOCH)."""

from __future__ import annotations

import argparse
from collections.abc import Mapping

from executor.clock import SOURCE_DATE_EPOCH
from executor.errors import UsageError
from executor.options import SnapshotOptions
from snapshot.compression import COMPRESSIONS, DEFAULT_LEVELS, LEVEL_RANGES
from snapshot.snapshotter import SNAPSHOT_MODES

__all__ = ["BOOLEAN_FLAGS", "add_flags", "snapshot_options"]

BOOLEAN_FLAGS = ("--single-snapshot", "--reproducible")


def add_flags(parser: argparse.ArgumentParser, add_boolean) -> None:  # type: ignore[no-untyped-def]
    add = parser.add_argument
    add("--snapshot-mode", default="full",
        help="full (content hashes; default), redo (mtime, size, mode, owner) or time (mtime only)")
    add("--compression", default="gzip", help="layer compression: gzip (default) or zstd")
    add("--compression-level", type=int, default=-1,
        help="compression level; -1 is the format's default (gzip 6, zstd 3)")
    add_boolean(parser, "--single-snapshot", "take one snapshot, at the end: a single layer")
    add_boolean(parser, "--reproducible", "zero timestamps in layers and the config")
    add("--source-date-epoch", metavar="SECONDS", default=None,
        help="clamp layer timestamps to this Unix time and use it as the image's created time, "
             "as BuildKit's rewrite-timestamp (default: $SOURCE_DATE_EPOCH)")


def _source_date_epoch(args: argparse.Namespace, env: Mapping[str, str]) -> int | None:
    """The flag wins over the variable; --reproducible (kaniko's epoch 0) wins over the
    variable, which a CI job may set for every tool, but contradicts the flag."""
    flag = args.source_date_epoch
    value, where = flag, "--source-date-epoch"
    if flag is None:
        value, where = env.get(SOURCE_DATE_EPOCH) or None, SOURCE_DATE_EPOCH  # set but empty: unset
    if value is None:
        return None
    if args.reproducible:
        if flag is not None:
            raise UsageError("--reproducible (every timestamp 0) and --source-date-epoch contradict "
                             "each other: give one")
        return None
    if not value.isdigit():
        raise UsageError(f"{where} {value!r}: expected a Unix time in whole seconds, as "
                         "`git log -1 --format=%ct` prints")
    return int(value)


def snapshot_options(args: argparse.Namespace, env: Mapping[str, str] | None = None) -> SnapshotOptions:
    mode = args.snapshot_mode.lower()
    if mode not in SNAPSHOT_MODES:
        raise UsageError(f"--snapshot-mode {args.snapshot_mode!r}: use one of {', '.join(SNAPSHOT_MODES)}")
    compression = args.compression.lower()
    if compression not in COMPRESSIONS or compression == "none":
        raise UsageError(f"--compression {args.compression!r}: use gzip or zstd")
    level = args.compression_level
    if level == -1:
        level = DEFAULT_LEVELS[compression]
    valid = LEVEL_RANGES[compression]
    if level not in valid:
        raise UsageError(f"--compression-level {level}: {compression} takes {valid.start}..{valid.stop - 1}")
    return SnapshotOptions(mode=mode, single_snapshot=args.single_snapshot, compression=compression,
                           compression_level=level, reproducible=args.reproducible,
                           source_date_epoch=_source_date_epoch(args, env or {}))
