"""Write aside, then rename: every file and directory lamina leaves for others to read (outputs,
cache entries, spooled layers, extracted images) appears under its final name complete or not at
all. Temporary names share one style, ``.<name>.partial-<pid>-<random>``, so the sweeper of shared
cache directories recognises what a killed writer left."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["PARTIAL_MARK", "atomic_directory", "atomic_file", "partial_path", "sweep_abandoned",
           "write_text_atomically"]

log = logging.getLogger("lamina")

PARTIAL_MARK = ".partial-"
ABANDONED_AFTER_S = 600.0  # no live writer leaves its temporary file untouched this long


def partial_path(path: Path) -> Path:
    """A temporary name beside ``path``, unique to this writer."""
    return path.with_name(f".{path.name}{PARTIAL_MARK}{os.getpid()}-{secrets.token_hex(4)}")


@contextlib.contextmanager
def atomic_file(path: Path, durable: bool = False) -> Iterator[BinaryIO]:
    """A new file beside ``path`` (mode from the umask, as ``open`` makes it), renamed over
    ``path`` only if the block completes, so a reader sees the old file or the whole new one;
    ``durable`` syncs it to disk first (final outputs, not blobs that a rewrite can repair)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = partial_path(path)
    try:
        with open(temp, "xb") as out:
            yield out
            if durable:
                out.flush()
                os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temp)
        raise


def write_text_atomically(path: Path, text: str) -> None:
    with atomic_file(path, durable=True) as out:
        out.write(text.encode())


class DirectoryExists(Exception):
    """``atomic_directory(replace=False)``: another writer put the directory in place first."""


@contextlib.contextmanager
def atomic_directory(path: Path, *, replace: bool) -> Iterator[Path]:
    """A new directory beside ``path`` to fill; renamed to ``path`` when the block completes.

    ``replace``: a directory already at ``path`` is swapped out and deleted. Otherwise the first
    writer wins and a later one gets ``DirectoryExists`` (its copy removed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = partial_path(path)
    temp.mkdir()
    try:
        yield temp
        if replace and os.path.lexists(path):
            old = partial_path(path)
            os.replace(path, old)
            os.replace(temp, path)
            shutil.rmtree(old, ignore_errors=True)
            return
        try:
            os.rename(temp, path)
        except OSError as error:
            if error.errno not in (errno.EEXIST, errno.ENOTEMPTY):
                raise
            raise DirectoryExists(path) from None
    except BaseException:
        shutil.rmtree(temp, ignore_errors=True)
        raise


def sweep_abandoned(directory: Path, now: float | None = None) -> None:
    """Remove the temporary files and directories that writers stopped by SIGKILL left in a
    directory shared by many builders (a warmer's partial tarball can be gigabytes). Entries
    themselves are never touched."""
    now = time.time() if now is None else now
    try:
        entries = list(os.scandir(directory))
    except FileNotFoundError:
        return
    for entry in entries:
        if not (entry.name.startswith(".") and PARTIAL_MARK in entry.name):
            continue
        try:
            if now - entry.stat(follow_symlinks=False).st_mtime < ABANDONED_AFTER_S:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except FileNotFoundError:
            continue  # another builder swept it first
        log.info("removed %s, left by a writer that was stopped", entry.path)
