"""Walk a root with os.scandir, never following symlinks nor entering ignored paths."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

from .ignore import IgnoreList

__all__ = ["walk"]


def walk(root: Path, ignore: IgnoreList) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(rel_path, lstat)`` for everything below ``root`` (not the root itself).

    Paths are root-relative POSIX ("etc/passwd"). Order is unspecified. Entries that vanish
    while walking are skipped.
    """
    listed = ignore.paths
    S_ISDIR = stat.S_ISDIR
    stack: list[tuple[str, str]] = [("", os.fspath(root))]
    while stack:
        prefix, dirpath = stack.pop()
        try:
            it = os.scandir(dirpath)
        except (FileNotFoundError, NotADirectoryError):
            continue
        with it:
            for entry in it:
                rel = prefix + entry.name
                # Ancestors are never entered when ignored, so an exact match is enough here.
                if rel in listed:
                    continue
                try:
                    st = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue
                yield rel, st
                if S_ISDIR(st.st_mode):
                    stack.append((rel + "/", entry.path))
