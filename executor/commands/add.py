"""ADD: COPY, plus local tar archives unpacked into the destination."""

from __future__ import annotations

import bz2
import gzip
import lzma
import tarfile
from pathlib import Path
from typing import BinaryIO

from executor.build.context import ContextSource
from executor.commands.base import StepContext
from executor.commands.copy import CopyCommand
from executor.commands.copying import CopyEngine
from snapshot.extract import extract_layer
from snapshot.ignore import IgnoreList

_MAGIC = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


def _open_archive(path: Path) -> BinaryIO | None:
    """The uncompressed stream of a tar archive (plain, gzip, bzip2, xz), or None if not one."""
    with open(path, "rb") as f:
        head = f.read(512)
    opener = next((open_ for magic, open_ in _MAGIC if head.startswith(magic)), None)
    stream: BinaryIO = opener(path, "rb") if opener else open(path, "rb")  # type: ignore[operator]
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

    def execute(self, ctx: StepContext) -> None:
        for word in self.instruction.json or self.instruction.args.split():
            if "://" in word and not word.startswith("-"):
                raise self.error(ctx, "ADD from a URL is not supported yet")
        self.copy(ctx, file_hook=self._unpack_archive)

    def _unpack_archive(self, source: ContextSource, dest: str, engine: CopyEngine) -> bool:
        archive = _open_archive(source.path)
        if archive is None:
            return False
        with archive:
            target = engine.parents(dest)
            extract_layer(archive, target, IgnoreList(()))
        return True
