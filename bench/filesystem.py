"""A fresh filesystem for each build, so that no build pays for what another one removed.

This machine kind's root filesystem is ext4 without a journal. There ext4 passes over every inode
freed in the last 60 s (300 s while its inode table block is dirty, which it is as soon as new
files are made beside it) on each file creation (fs/ext4/ialloc.c, recently_deleted). On the shared
disk, a build started after another run's tree (or buildah's working container) was removed made
files several times slower: Debian's 6,700 files took 0.6 s at rest and 5.5 s after. A CI build
starts in a fresh container; here each build gets a fresh ext4 of the same kind (no journal) in a
sparse file on the same disk, loop-mounted, and removed after the run.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

__all__ = ["fresh_filesystem"]

SIZE = 48 * 2**30  # sparse: only what a build writes takes space
INODES = 4_000_000  # buildah's vfs storage of bigbase holds several copies of 260,000 files


@contextlib.contextmanager
def fresh_filesystem(mount_point: Path) -> Iterator[Path]:
    """An empty ext4 (no journal, as /) mounted at ``mount_point`` for the block's duration."""
    image = mount_point.with_name(mount_point.name + ".ext4")
    mount_point.mkdir(parents=True)
    with open(image, "wb") as sparse:
        sparse.truncate(SIZE)
    try:
        # lazy inode tables, and noinit_itable so no kernel thread zeroes them during a run
        subprocess.run(["mkfs.ext4", "-q", "-F", "-O", "^has_journal", "-N", str(INODES),
                        "-E", "lazy_itable_init=1", str(image)], check=True, capture_output=True)
        subprocess.run(["mount", "-o", "loop,noinit_itable", str(image), str(mount_point)],
                       check=True, capture_output=True)
        try:
            yield mount_point
        finally:
            if subprocess.run(["umount", str(mount_point)], capture_output=True).returncode:
                subprocess.run(["umount", "-l", str(mount_point)], capture_output=True)
    finally:
        os.unlink(image)
