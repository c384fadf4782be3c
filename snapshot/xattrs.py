"""Reading and writing extended attributes, tolerant of filesystems that do not have them."""

from __future__ import annotations

import errno
import logging
import os

from .index import Xattrs

__all__ = ["read_xattrs", "write_xattr", "SKIPPED_XATTRS"]

log = logging.getLogger(__name__)

# Labels of the build host's security policy, not of the image.
SKIPPED_XATTRS = frozenset({"security.selinux"})

_UNSUPPORTED = (errno.ENOTSUP, errno.EOPNOTSUPP, errno.EPERM)


def read_xattrs(path: str | int) -> Xattrs | None:
    """Sorted (name, value) pairs of ``path`` (not following a symlink), None if unsupported."""
    follow = isinstance(path, int)  # an fd has nothing to follow
    try:
        names = os.listxattr(path, follow_symlinks=follow)
    except OSError as e:
        if e.errno in _UNSUPPORTED:
            return None
        raise
    if not names:
        return ()
    pairs: list[tuple[str, bytes]] = []
    for name in sorted(names):
        if name in SKIPPED_XATTRS:
            continue
        try:
            pairs.append((name, os.getxattr(path, name, follow_symlinks=follow)))
        except OSError as e:
            if e.errno == errno.ENODATA or e.errno in _UNSUPPORTED:
                continue  # removed meanwhile, or not readable here
            raise
    return tuple(pairs)


def write_xattr(path: str | int, name: str, value: bytes) -> None:
    """Set one xattr; a filesystem or namespace that refuses it is logged, not fatal."""
    try:
        if isinstance(path, int):
            os.setxattr(path, name, value)
        else:
            os.setxattr(path, name, value, follow_symlinks=False)
    except OSError as e:
        if e.errno in _UNSUPPORTED:
            log.debug("xattr %s not set on %s: %s", name, path, e)
            return
        raise
