"""Unpack a context tarball (plain or gzipped) as a stream, with the layer path-safety rules."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

from snapshot import (
    ExtractError,
    IgnoreList,
    LayerFormatError,
    UnsafeLayerEntry,
    extract_layer,
    open_layer_stream,
)

from .errors import ContextError

__all__ = ["unpack_archive"]


def unpack_archive(stream: BinaryIO, into: Path, source: str) -> None:
    """Extract the tar in ``stream`` into ``into``; no entry may land outside it.

    A context is a plain archive, not a layer: ``.wh.`` files in it are ordinary files.
    """
    try:
        extract_layer(open_layer_stream(stream), into, IgnoreList(), whiteouts=False)
    except UnsafeLayerEntry as error:
        raise ContextError(source, f"archive entry {error.entry!r} would land outside the "
                           f"context ({error.reason}); refusing the archive") from None
    except LayerFormatError as error:
        cause = error.__cause__ or error  # the tar or gzip reader's own words, not "layer"
        raise ContextError(source, f"not a valid tar or tar.gz archive: {cause}") from None
    except ExtractError as error:
        raise ContextError(source, f"cannot unpack {error.entry!r}: {error.reason}") from None
