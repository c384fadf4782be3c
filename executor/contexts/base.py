"""What a build context source is: something that fills a directory with the context's files."""

from __future__ import annotations

import abc
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, cast

from .archive import unpack_archive
from .errors import ContextError
from .progress import ProgressReader

__all__ = ["ArchiveSource", "ContextSource", "Download"]

log = logging.getLogger("lamina")


class ContextSource(Protocol):
    """A remote build context (tarball, bucket object, git repository, ...)."""

    def describe(self) -> str:
        """How errors and logs name the source; never carries credentials or signatures."""
        ...

    def fetch(self, into: Path, env: Mapping[str, str]) -> None:
        """Fill the empty directory ``into`` with the context's files."""
        ...


def _nothing() -> None:
    pass


@dataclass
class Download:
    """An open stream of archive bytes, its size when the server said it, how to close it, and
    what reading it may raise once it is open (network errors mid-transfer)."""

    stream: BinaryIO
    size: int | None = None
    close: Callable[[], None] = _nothing
    errors: tuple[type[BaseException], ...] = ()


class ArchiveSource(abc.ABC):
    """A source that is a (possibly gzipped) tarball: subclasses only say how to open it."""

    # Local files need no progress lines; downloads do.
    show_progress: bool = True

    @abc.abstractmethod
    def describe(self) -> str: ...

    @abc.abstractmethod
    def open(self, env: Mapping[str, str]) -> Download:
        """Start reading the archive; raise ``ContextError`` when it cannot be reached."""

    def fetch(self, into: Path, env: Mapping[str, str]) -> None:
        download = self.open(env)
        try:
            progress = None
            stream = download.stream
            if self.show_progress:
                progress = ProgressReader(stream, download.size, self.describe(), log)
                stream = cast(BinaryIO, progress)  # it has the read() the tar reader calls
            unpack_archive(stream, into, self.describe())
            if progress is not None:
                progress.done()
        except download.errors as error:
            raise ContextError(self.describe(), f"download failed: {error}") from None
        finally:
            download.close()
