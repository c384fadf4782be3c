"""Snapshots of the root turned into layer files spooled under the kaniko dir."""

from __future__ import annotations

import logging
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from executor.image import DOCKER_LAYER_GZIP, FileLayer
from snapshot.snapshotter import Changes, Snapshotter
from snapshot.layer_writer import write_layer

log = logging.getLogger("lamina")


@dataclass(frozen=True)
class LayerSpool:
    """Where finished layers wait to be pushed: ``<kaniko-dir>/layers/<digest>``."""

    directory: Path
    compression: str = "gzip"
    level: int = 6

    def take(self, snapshotter: Snapshotter) -> tuple[Changes, float]:
        started = time.monotonic()
        changes = snapshotter.take()
        return changes, time.monotonic() - started

    def write(self, root: Path, snapshotter: Snapshotter, changes: Changes) -> FileLayer:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, temp_name = tempfile.mkstemp(dir=self.directory, prefix=".partial-")
        try:
            with os.fdopen(fd, "wb") as out:
                info = write_layer(root, changes, snapshotter.index, out, compression=self.compression,
                                   level=self.level)
            final = self.directory / info.digest.replace(":", "-")
            os.replace(temp_name, final)
        except BaseException:
            os.unlink(temp_name)
            raise
        log.info("layer %s: %d changed, %d deleted, %d bytes", info.digest[:19], len(changes.changed),
                 len(changes.deleted), info.size)
        return FileLayer(path=final, digest=info.digest, diff_id=info.diff_id, size=info.size,
                         media_type=DOCKER_LAYER_GZIP)
