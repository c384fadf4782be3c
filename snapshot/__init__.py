"""Filesystem snapshots and layers: walk a root, index it, diff it, write and extract layers.

Knows nothing of Dockerfiles or registries (``executor`` depends on this package, never the
reverse).
"""

from __future__ import annotations

from .compression import (
    COMPRESSIONS,
    Compressor,
    GzipCompressor,
    NoCompressor,
    ParallelGzipCompressor,
    ZstdCompressor,
    make_compressor,
)
from .errors import ExtractError, LayerFormatError, SnapshotError, UnsafeLayerEntry
from .extract import extract_layer, open_layer_stream
from .ignore import IgnoreList
from .index import EntryState, SnapshotIndex
from .layer_writer import LayerInfo, write_layer
from .snapshotter import Changes, ContentDigester, Snapshotter
from .walk import walk

__all__ = [
    "COMPRESSIONS",
    "Changes",
    "Compressor",
    "ContentDigester",
    "EntryState",
    "ExtractError",
    "GzipCompressor",
    "IgnoreList",
    "LayerFormatError",
    "LayerInfo",
    "NoCompressor",
    "ParallelGzipCompressor",
    "SnapshotError",
    "SnapshotIndex",
    "Snapshotter",
    "UnsafeLayerEntry",
    "ZstdCompressor",
    "extract_layer",
    "make_compressor",
    "open_layer_stream",
    "walk",
    "write_layer",
]
