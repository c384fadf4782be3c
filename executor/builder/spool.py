"""Snapshots of the root turned into layer files spooled under the kaniko dir."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from executor.events import Progress, event
from executor.image import DOCKER_LAYER_GZIP, OCI_LAYER_ZSTD, FileLayer
from executor.options import SnapshotOptions
from snapshot.ignore import IgnoreList
from snapshot.layer_writer import write_layer
from snapshot.snapshotter import Changes, DigestHints, Snapshotter

log = logging.getLogger("lamina")

_MEDIA_TYPES = {"gzip": DOCKER_LAYER_GZIP, "zstd": OCI_LAYER_ZSTD}


@dataclass(frozen=True)
class LayerSpool:
    """Where finished layers wait to be pushed: ``<kaniko-dir>/layers/<digest>``; and how the
    root is snapshotted and layers written (``options``: mode, compression, timestamps)."""

    directory: Path
    options: SnapshotOptions = field(default_factory=SnapshotOptions)

    def snapshotter(self, root: Path, ignore: IgnoreList) -> Snapshotter:
        return Snapshotter(root, ignore, mode=self.options.mode)

    def take(self, snapshotter: Snapshotter, *, hints: DigestHints | None = None,
             full: bool = False) -> tuple[Changes, float]:
        started = time.monotonic()
        changes = snapshotter.take(hints=hints, full=full)
        return changes, time.monotonic() - started

    def write(self, root: Path, snapshotter: Snapshotter, changes: Changes) -> FileLayer:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self.directory, prefix=".partial-")
        started = time.monotonic()
        try:
            with os.fdopen(fd, "wb") as out, Progress(
                    "layer", f"{len(changes.changed)} changed files",
                    _tar_size(changes, snapshotter)) as progress:
                info = write_layer(root, changes, snapshotter.index, out, progress=progress.advance,
                                   compression=self.options.compression,
                                   level=self.options.compression_level,
                                   reproducible=self.options.reproducible,
                                   source_date_epoch=self.options.source_date_epoch)
            final = self.directory / info.digest.replace(":", "-")
            os.replace(temp_name, final)
        except BaseException:
            os.unlink(temp_name)
            raise
        seconds = time.monotonic() - started
        log.info("layer %s: %d changed, %d deleted, %d bytes in %.2fs", info.digest[:19],
                 len(changes.changed), len(changes.deleted), info.size, seconds,
                 extra=event("layer.written", digest=info.digest, size=info.size,
                             changed=len(changes.changed), deleted=len(changes.deleted),
                             seconds=round(seconds, 3)))
        return FileLayer(path=final, digest=info.digest, diff_id=info.diff_id, size=info.size,
                         media_type=_MEDIA_TYPES[self.options.compression])


def _tar_size(changes: Changes, snapshotter: Snapshotter) -> Callable[[], int]:
    """About the layer's tar size (file contents, from the index), summed only for a layer that
    takes long enough to show progress."""
    def total() -> int:
        index = snapshotter.index
        return sum(state.size for rel in changes.changed
                   if (state := index.get(rel)) is not None and stat.S_ISREG(state.mode))
    return total
