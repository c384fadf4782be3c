"""Emptying the build root between stages and after ``--cleanup``."""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from snapshot.ignore import IgnoreList


def clean_root(root: Path, ignore: IgnoreList, trash: Path | None = None) -> Path | None:
    """Remove everything under ``root`` except ignored paths (kaniko's cleanup between stages).

    With ``trash`` (a directory), entries are renamed into a new directory under it, which is
    returned for the caller to delete once the next base is extracted: ext4 without a journal
    passes over every inode freed in the last 60 s (300 s while its inode table block is dirty) on
    each file creation, so deleting one stage's tree right before extracting the next stage's base
    made that extraction several times slower. Deleted then rather than at the end of the build, so
    a build never holds more than one stage's root beyond its own. Where a rename cannot work
    (another filesystem, overlayfs lower directories) the entry is deleted at once.
    """
    moved = 0
    if trash is not None:
        trash.mkdir(parents=True, exist_ok=True)
        trash = Path(tempfile.mkdtemp(dir=trash))

    def remove(entry: os.DirEntry[str]) -> None:
        nonlocal moved
        if trash is not None:
            try:
                os.rename(entry.path, trash / str(moved))
                moved += 1
                return
            except OSError as error:
                if error.errno not in (errno.EXDEV, errno.EBUSY):
                    raise
        if entry.is_dir(follow_symlinks=False):
            shutil.rmtree(entry.path)
        else:
            os.unlink(entry.path)

    def clean(directory: Path, rel: str) -> None:
        for entry in os.scandir(directory):
            child = f"{rel}/{entry.name}" if rel else entry.name
            if ignore.ignores(child):
                continue
            if ignore.has_ignored_below(child) and entry.is_dir(follow_symlinks=False):
                clean(Path(entry.path), child)
                continue
            remove(entry)

    clean(root, "")
    return trash
