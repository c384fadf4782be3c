"""Walk a root with os.scandir, never following symlinks nor entering ignored paths."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import compress
from operator import attrgetter, methodcaller
from pathlib import Path

from .ignore import IgnoreList

__all__ = ["DirectoryRead", "read_directory", "walk", "walk_dirs"]

_DIRECTORY_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# Applied with map() to a directory's entries and stats: C loops, no bytecode per entry.
_LSTAT = methodcaller("stat", follow_symlinks=False)
_NAME = attrgetter("name")
_MODE = attrgetter("st_mode")


@dataclass(frozen=True, slots=True)
class DirectoryRead:
    """One directory's entries in listing order: their names, lstat results and, of them, the
    names of the directories (by the lstat, so a listing's own facts say what is entered)."""

    names: list[str]
    stats: list[os.stat_result]
    subdirs: list[str]


def read_directory(path: str, skip: frozenset[str] = frozenset(),
                   opened: Callable[[int], None] | None = None) -> DirectoryRead | None:
    """List ``path`` (not followed if a symlink) and lstat each entry, relative to the open
    directory (one path component for the kernel to look up, not the whole path). Names in
    ``skip`` are left out; entries that vanish meanwhile too. ``opened`` sees the directory's fd
    before it is read (to watch it). None if ``path`` is no longer a directory.
    """
    try:
        fd = os.open(path, _DIRECTORY_FLAGS)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as e:
        if e.errno == errno.ELOOP:  # replaced by a symlink since its parent was listed
            return None
        raise
    try:
        if opened is not None:
            opened(fd)
        with os.scandir(fd) as it:
            entries = list(it)
        if skip:
            entries = [e for e in entries if e.name not in skip]
        try:
            stats = list(map(_LSTAT, entries))
        except FileNotFoundError:
            entries, stats = _still_there(entries)
    finally:
        os.close(fd)
    return DirectoryRead(names=list(map(_NAME, entries)), stats=stats,
                         subdirs=[e.name for e in compress(entries, map(stat.S_ISDIR, map(_MODE, stats)))])


def _still_there(entries: list[os.DirEntry[str]]) -> tuple[list[os.DirEntry[str]], list[os.stat_result]]:
    kept, stats = [], []
    for entry in entries:
        try:
            stats.append(entry.stat(follow_symlinks=False))
        except FileNotFoundError:
            continue
        kept.append(entry)
    return kept, stats


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
