"""ADD: COPY, plus local tar archives unpacked into the destination and files downloaded from
http(s) URLs (``--checksum`` verified)."""

from __future__ import annotations

import bz2
import gzip
import logging
import lzma
import tarfile
from pathlib import Path
from typing import BinaryIO, cast

from executor.commands.base import StepContext
from executor.commands.copy import CopyCommand
from executor.commands.copying import CopyEngine
from executor.commands.remote_source import Checksum, DownloadError, download, is_url
from executor.contexts.files import ContextSource
from executor.dockerfile import AddInstruction
from executor.http import DOWNLOAD_RETRY, make_session
from snapshot.errors import SnapshotError
from snapshot.extract import extract_layer
from snapshot.ignore import IgnoreList

log = logging.getLogger("lamina")

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


def _open_archive(path: Path) -> BinaryIO | None:
    """The uncompressed stream of a tar archive (plain, gzip, bzip2, xz), or None if not one."""
    with open(path, "rb") as f:
        head = f.read(512)
    opener = next((open_ for magic, open_ in _MAGIC if head.startswith(magic)), None)
    stream = cast(BinaryIO, opener(path, "rb") if opener else open(path, "rb"))
    try:
        header = stream.read(512)
        if len(header) == 512 and header[257:262] == b"ustar":
            stream.seek(0)
            return stream
        if opener is None and len(header) == 512 and tarfile.is_tarfile(path):
            stream.seek(0)
            return stream
    except (OSError, EOFError, lzma.LZMAError):
        pass
    stream.close()
    return None


class AddCommand(CopyCommand):
    keyword = "ADD"
    instruction: AddInstruction

    def __init__(self, instruction: AddInstruction) -> None:
        super().__init__(instruction)
        self._downloaded: set[Path] = set()
        self._checksum: Checksum | None = None
        self._session = make_session(DOWNLOAD_RETRY)  # one connection pool for every URL of this ADD

    def execute(self, ctx: StepContext) -> None:
        if self.instruction.keep_git_dir:
            raise self.error(ctx, "ADD --keep-git-dir is not supported: lamina does not add git repositories")
        self._checksum = self._parse_checksum(ctx)
        with self._session:
            try:
                self.copy(ctx, file_hook=self._unpack_archive)
            except SnapshotError as error:  # a hostile or damaged local archive
                raise self.error(ctx, f"ADD: {error}") from None

    def _parse_checksum(self, ctx: StepContext) -> Checksum | None:
        value = self.instruction.checksum
        if value is None:
            return None
        sources = [self.expand(ctx, word) for word in self.instruction.sources]
        if len(sources) != 1 or not is_url(sources[0]):
            raise self.error(ctx, "ADD --checksum needs exactly one source, an http(s) URL")
        try:
            return Checksum.parse(self.expand(ctx, value))
        except ValueError as error:
            raise self.error(ctx, f"ADD --checksum: {error}") from None

    def inline_source(self, ctx: StepContext, raw: str, word: str, directory: Path) -> ContextSource | None:
        if not is_url(word):
            if "://" in word or word.startswith("git@"):
                raise self.error(ctx, f"ADD {word}: only http:// and https:// URLs are supported")
            return super().inline_source(ctx, raw, word, directory)
        log.info("ADD: downloading %s", word)
        try:
            path = download(self._session, word, directory, self._checksum)
        except DownloadError as error:
            raise self.error(ctx, f"ADD failed: {error}") from None
        self._downloaded.add(path)
        return ContextSource(path=path, rel=path.name)

    def _unpack_archive(self, source: ContextSource, dest: str, engine: CopyEngine) -> bool:
        if source.path in self._downloaded:
            return False  # Docker never unpacks a downloaded archive
        archive = _open_archive(source.path)
        if archive is None:
            return False
        with archive:
            target = engine.parents(dest)
            try:
                extract_layer(archive, target, IgnoreList())
            except SnapshotError as error:
                raise SnapshotError(f"the archive {source.rel}: {error}") from None
        return True
