"""Context tarballs on this machine: ``tar://PATH`` and ``tar://stdin``."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from executor.errors import UsageError

from .base import ArchiveSource, Download
from .errors import ContextError

__all__ = ["StdinArchive", "TarFileArchive"]


@dataclass(frozen=True)
class TarFileArchive(ArchiveSource):
    """``tar://PATH``: a .tar or .tar.gz file (compression is sniffed, not guessed from the name)."""

    path: Path
    show_progress = False

    def describe(self) -> str:
        return f"tar://{self.path}"

    def open(self, env: Mapping[str, str]) -> Download:
        try:
            stream = open(self.path, "rb")
        except OSError as error:
            raise ContextError(self.describe(), error.strerror or str(error)) from None
        if not os.path.isfile(self.path):
            stream.close()
            raise ContextError(self.describe(), "not a regular file")
        return Download(stream, os.fstat(stream.fileno()).st_size, stream.close)


@dataclass(frozen=True)
class StdinArchive(ArchiveSource):
    """``tar://stdin``: the archive piped in (``kubectl run --stdin``, ``tar c . | executor``)."""

    stdin: BinaryIO | None = None  # None: the process's standard input

    def describe(self) -> str:
        return "tar://stdin"

    def open(self, env: Mapping[str, str]) -> Download:
        stream = self.stdin if self.stdin is not None else sys.stdin.buffer
        if stream.isatty():
            raise UsageError("--context tar://stdin: standard input is a terminal; "
                             "pipe a .tar or .tar.gz into the executor")
        return Download(stream)
