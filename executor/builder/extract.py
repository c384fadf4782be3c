"""Applying an image's layers over a root: the base of each stage, cached layers, and images
read by ``--from``."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any, BinaryIO

from executor.cache.base_images import CorruptCacheEntry
from executor.errors import BuildError
from executor.events import Progress, ProgressReader
from executor.image import DigestCheckingReader, Image, Layer, RemoteLayer
from executor.registry import RegistryError
from executor.rootfs.clean import clean_root
from snapshot.compression import ReadAhead
from snapshot.errors import LayerFormatError, SnapshotError
from snapshot.extract import extract_layer, open_layer_stream
from snapshot.ignore import IgnoreList
from snapshot.rootfs import Escape
from snapshot.snapshotter import DigestHints

log = logging.getLogger("lamina")


def extract_image(image: Image, root: Path, ignore: IgnoreList, *, hints: DigestHints | None = None,
                  what: str = "base image layer") -> None:
    """Apply the image's layers over ``root``. Each layer is downloaded, verified and decompressed
    on a reader thread while this one writes files; ``hints`` collects the written files' digests
    for the snapshot baseline. ``what`` names the layers in the log and errors."""
    for number, layer in enumerate(image.layers, 1):
        started = time.monotonic()
        try:
            # a registry's layer is downloaded as it is extracted: one bar for both
            kind = "pull" if isinstance(layer, RemoteLayer) else "extract"
            with Progress(kind, f"{what} {number}/{len(image.layers)} {layer.digest[:19]}",
                          layer.size) as progress, layer.open() as raw, \
                    ReadAhead(_verified_tar(layer, ProgressReader(raw, progress))) as stream:  # type: ignore[arg-type]
                extract_layer(stream, root, ignore, hints=hints,  # type: ignore[arg-type]
                              escape=Escape.CLAMP)
                while stream.read(1 << 20):
                    pass  # the end of the tar is not the end of the stream the diff id covers
        except SnapshotError as error:
            raise BuildError(f"{what} {layer.digest}: {error}") from None
        log.info("extracted %s %d/%d %s in %.2fs", what, number, len(image.layers),
                 layer.digest[:19], time.monotonic() - started)


class _DiffIdReader(DigestCheckingReader):
    """The layer tar, checked against the config's diff id as it is read (on the read-ahead
    thread, so hashing overlaps with writing files)."""

    def __init__(self, source: BinaryIO, diff_id: str) -> None:
        super().__init__(diff_id, None, hashlib.sha256())
        self._source = source

    def read_some(self, view: memoryview) -> int:
        return self._source.readinto(view)  # type: ignore[attr-defined]

    def mismatch(self, why: str) -> Exception:
        return LayerFormatError(f"its content does not match the diff id {self.digest} that the "
                                f"image config gives it: {why}")

    def close(self) -> None:
        super().close()
        self._source.close()


def _verified_tar(layer: Layer, compressed: BinaryIO) -> Any:
    tar = open_layer_stream(compressed)
    if not layer.diff_id.startswith("sha256:"):
        return tar
    return _DiffIdReader(tar, layer.diff_id)


def extract_base(image: Image, root: Path, ignore: IgnoreList, retries: int) -> DigestHints:
    """Extract a stage's base over the root; a download that fails for good midway (resumes
    exhausted, digest mismatch) leaves a half-extracted root, so --image-fs-extract-retry cleans
    the root and starts again from the first layer, as kaniko does."""
    for attempt in range(retries + 1):
        hints: DigestHints = {}
        try:
            extract_image(image, root, ignore, hints=hints)
            return hints
        except CorruptCacheEntry:
            raise  # the same cache file would fail again: the caller pulls instead
        except (RegistryError, BuildError) as error:  # a gzip error may come before the digest
            if attempt == retries:
                raise
            log.warning("extracting the base image failed (%s); cleaning the root and extracting "
                        "again (retry %d of %d)", error, attempt + 1, retries)
            clean_root(root, ignore)
            time.sleep(min(2.0 ** attempt, 10.0))
    raise AssertionError("unreachable")
