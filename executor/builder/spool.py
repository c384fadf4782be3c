"""Snapshots of the root turned into layer files spooled under the kaniko dir."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from executor.events import event
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
    root is snapshotted and layers written (``options``: mode, compression, reproducible)."""

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
            with os.fdopen(fd, "wb") as out:
                info = write_layer(root, changes, snapshotter.index, out,
                                   compression=self.options.compression,
                                   level=self.options.compression_level,
                                   reproducible=self.options.reproducible)
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
