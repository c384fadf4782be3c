"""The root of the stage being built, made just in time.

With ``--cache`` nothing of a stage's base is downloaded or extracted before a step needs its
files: step keys depend on the base's config, the instructions, the ARGs and the context files,
never on the root, so every step up to the first miss is looked up first. The first step that
needs the files (a miss, or a step the cache does not hold) builds the root: the base, then the
layers of the cached steps before it, extracted in place of running those steps. A stage whose
every step is in the cache never builds it at all; its image is the base's manifest and config and
the cached layers, and pushing mounts (or streams) blobs it never downloaded.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from executor.builder.extract import extract_image
from executor.builder.spool import LayerSpool
from executor.dockerfile import Instruction
from executor.events import event
from executor.image import Image, Layer
from snapshot.ignore import IgnoreList
from snapshot.snapshotter import DigestHints, Snapshotter

log = logging.getLogger("lamina")

# Extracts the stage's base over the root; returns the image whose layers it extracted (another
# copy of the base when a damaged --cache-dir entry was pulled again) and the digests it computed.
BaseExtractor = Callable[[], tuple[Image, DigestHints]]


@dataclass
class StageRoot:
    """``path`` as one stage sees it: not built until ``snapshotter`` is first asked for."""

    path: Path
    ignore: IgnoreList
    spool: LayerSpool
    stage: int
    extract_base: BaseExtractor
    previous_files: Path | None = None  # the last stage's files, moved aside: deleted once built
    extracted_base: Image | None = field(default=None, init=False)  # what the base came from
    _pending: list[Layer] = field(default_factory=list, init=False)  # cached, waiting for the root
    _snapshotter: Snapshotter | None = field(default=None, init=False)

    @property
    def built(self) -> bool:
        return self._snapshotter is not None

    def snapshotter(self, needed_by: Instruction | None = None) -> Snapshotter:
        """The root's snapshotter, its baseline the root as built; the root is built first if it
        is not yet (``needed_by``: the instruction that needs the files, for the log)."""
        if self._snapshotter is None:
            self._snapshotter = self._build(needed_by)
        return self._snapshotter

    def add_cached(self, layer: Layer) -> bool:
        """A cached step's layer: extracted now when the root is built (True), else kept for
        when it is."""
        if self._snapshotter is None:
            self._pending.append(layer)
            return False
        extract_image(Image(config={}, layers=(layer,)), self.path, self.ignore, what="cached layer")
        self.spool.take(self._snapshotter)  # the index absorbs the cached files
        return True

    def discard_previous(self) -> None:
        if self.previous_files is not None:
            shutil.rmtree(self.previous_files, ignore_errors=True)
            self.previous_files = None

    def _build(self, needed_by: Instruction | None) -> Snapshotter:
        started = time.monotonic()
        if needed_by is not None:
            log.info("line %d (%s) needs the files: extracting the base%s", needed_by.line,
                     needed_by.keyword, f" and {len(self._pending)} cached layers" if self._pending
                     else "")
        self.extracted_base, hints = self.extract_base()
        self.discard_previous()
        if self._pending:
            extract_image(Image(config={}, layers=tuple(self._pending)), self.path, self.ignore,
                          hints=hints, what="cached layer")
        snapshotter = self.spool.snapshotter(self.path, self.ignore)
        _, seconds = self.spool.take(snapshotter, hints=hints)
        del hints  # a few MB per 100,000 files, needed no more
        log.info("initial snapshot in %.2fs", seconds)
        elapsed = time.monotonic() - started
        log.info("root of stage %d built in %.2fs", self.stage, elapsed,
                 extra=event("root.built", stage=self.stage,
                             line=needed_by.line if needed_by else None,
                             keyword=needed_by.keyword if needed_by else None,
                             base_layers=len(self.extracted_base.layers),
                             cached_layers=len(self._pending), seconds=round(elapsed, 3)))
        self._pending.clear()
        return snapshotter
