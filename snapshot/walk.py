"""Walk a root with os.scandir, never following symlinks nor entering ignored paths."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from .ignore import IgnoreList

__all__ = ["walk", "walk_dirs"]


def walk_dirs(root: Path | str, ignore: IgnoreList) -> Iterator[tuple[str, list[os.DirEntry[str]]]]:
    """Yield ``(prefix, entries)`` per directory below ``root``: ``prefix`` is the directory's
    root-relative path plus "/" ("" for the root), ``entries`` its non-ignored scandir entries.

    Directories are found from the entries' d_type (no extra system call); the caller stats
    what it needs. Order is unspecified; a directory that vanishes is skipped.
    """
    listed = ignore.paths
    stack: list[tuple[str, str]] = [("", os.fspath(root))]
    while stack:
        prefix, dirpath = stack.pop()
        try:
            with os.scandir(dirpath) as it:
                # Ancestors are never entered when ignored, so an exact match is enough here.
                entries = [e for e in it if prefix + e.name not in listed] if listed else list(it)
        except (FileNotFoundError, NotADirectoryError):
            continue
        yield prefix, entries
        for entry in entries:
            try:
                is_dir = entry.is_dir(follow_symlinks=False)
            except FileNotFoundError:
                continue
            if is_dir:
                stack.append((prefix + entry.name + "/", entry.path))


def walk(root: Path, ignore: IgnoreList) -> Iterator[tuple[str, os.stat_result]]:
    """Yield ``(rel_path, lstat)`` for everything below ``root`` (not the root itself).

    Paths are root-relative POSIX ("etc/passwd"). Order is unspecified. Entries that vanish
    while walking are skipped.
    """
    for prefix, entries in walk_dirs(root, ignore):
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            yield prefix + entry.name, st
