"""Paths inside a root, resolved with chroot semantics: the one resolver of every path that the
build reads or writes in a root (its own, an earlier stage's, the build context's).

Symlinks met on the way are followed inside the root and an absolute target starts again at the
root. What a ``..`` above the root means is the caller's explicit ``Escape`` policy: ``CLAMP``
stays at the root, as the kernel does for a chrooted process and BuildKit for ``COPY``; ``REFUSE``
rejects the path (layer extraction)."""

from __future__ import annotations

import enum
import os
import posixpath
import stat
from collections import deque
from pathlib import Path

from .errors import ExtractError, UnsafeLayerEntry, quoted
from .ignore import IgnoreList

__all__ = ["Escape", "IGNORED", "InRootResolver", "MAX_SYMLINK_HOPS", "SymlinkLoop",
           "resolve_in_root", "split_entry_name"]

MAX_SYMLINK_HOPS = 40


class Escape(enum.Enum):
    """What a ``..`` that would climb above the root does."""

    CLAMP = "clamp"  # stays at the root
    REFUSE = "refuse"  # the path is refused


class SymlinkLoop(ValueError):
    """More than ``MAX_SYMLINK_HOPS`` symlinks on the way (a loop, or a hostile chain)."""


def _climb(resolved: list[str], escape: Escape) -> bool:
    """Apply one ``..`` to ``resolved``; False when it would leave the root under ``REFUSE``."""
    if resolved:
        resolved.pop()
        return True
    return escape is Escape.CLAMP


def _follow(link: str, resolved: list[str], todo: deque[str]) -> None:
    """Continue the walk through the symlink at ``link``: its target's components come next, an
    absolute target from the root."""
    target = os.readlink(link)
    if target.startswith("/"):
        resolved.clear()
    todo.extendleft(reversed(target.split("/")))


def resolve_in_root(root: Path, path: str, *, follow_final: bool = True,
                    escape: Escape = Escape.CLAMP) -> Path:
    """The host path of ``path`` (image-absolute or root-relative) inside ``root``.

    Missing components are taken as named (the caller may create them); the last component is
    followed only with ``follow_final``. Raises ``SymlinkLoop``, and ``ValueError`` for a ``..``
    above the root under ``Escape.REFUSE``."""
    todo = deque(path.split("/"))
    resolved: list[str] = []
    hops = 0
    while todo:
        part = todo.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not _climb(resolved, escape):
                raise ValueError(f"{quoted(path)} leads above the root")
            continue
        candidate = root.joinpath(*resolved, part)
        if (todo or follow_final) and candidate.is_symlink():
            hops += 1
            if hops > MAX_SYMLINK_HOPS:
                raise SymlinkLoop(f"too many levels of symbolic links resolving {quoted(path)}")
            _follow(str(candidate), resolved, todo)
            continue
        resolved.append(part)
    return root.joinpath(*resolved)


class _Ignored:
    def __repr__(self) -> str:
        return "IGNORED"


IGNORED = _Ignored()  # a resolution that lands in an ignored path (immutable sentinel)


def split_entry_name(name: str, entry: str | None = None, escape: Escape = Escape.REFUSE) -> str:
    """A layer entry name as a root-relative path ("./" and "//" dropped).

    Under ``REFUSE`` an absolute name or a ".." component is an ``UnsafeLayerEntry``; under
    ``CLAMP`` the name is taken from the root and ".." stops there, as containerd applies layers."""
    if "//" not in name and "/." not in name and not name.startswith((".", "/")) \
            and not name.endswith("/"):
        return name  # already plain: no empty, "." or ".." component (the usual case)
    if escape is Escape.CLAMP:
        return posixpath.normpath("/" + name).lstrip("/")
    entry = name if entry is None else entry
    if name.startswith("/"):
        raise UnsafeLayerEntry(entry, "absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise UnsafeLayerEntry(entry, "'..' component")
    return "/".join(parts)


class InRootResolver:
    """Resolves the directory part of entry names as if chrooted into ``root``.

    Symlinks met on the way are followed, absolute targets from the root; a ``..`` that would
    climb above the root is an ``UnsafeLayerEntry``. Results are cached; call ``invalidate()``
    after removing or replacing a directory or symlink.
    """

    def __init__(self, root: str, ignore: IgnoreList, escape: Escape = Escape.REFUSE) -> None:
        self.root = root
        self._ignore = ignore
        self._escape = escape
        self._cache: dict[str, str] = {"": ""}

    def invalidate(self) -> None:
        self._cache = {"": ""}

    def host(self, rel: str) -> str:
        return self.root + "/" + rel if rel else self.root

    def resolve_dir(self, rel: str, entry: str, *, create: bool) -> str | _Ignored | None:
        """The real root-relative directory that ``rel`` names.

        Missing directories are created (0755, root-owned) when ``create``, else None is
        returned. IGNORED when the way leads into an ignored path.
        """
        cached = self._cache.get(rel)
        if cached is not None:
            return cached
        todo = deque(rel.split("/"))
        resolved: list[str] = []
        hops = 0
        while todo:
            part = todo.popleft()
            if part in ("", "."):
                continue
            if part == "..":
                if not _climb(resolved, self._escape):
                    raise UnsafeLayerEntry(entry, f"a symlink in {quoted(rel)} leads above the root")
                continue
            candidate = "/".join((*resolved, part))
            if self._ignore.is_listed(candidate):
                return IGNORED
            host = self.host(candidate)
            try:
                st = os.lstat(host)
            except FileNotFoundError:
                if not create:
                    return None
                try:
                    os.mkdir(host, 0o755)
                    os.chmod(host, 0o755)  # not narrowed by the umask
                except OSError as e:
                    raise ExtractError(entry, self.root, f"cannot create {quoted(candidate)}: {e.strerror}") from e
                resolved.append(part)
                continue
            if stat.S_ISDIR(st.st_mode):
                resolved.append(part)
            elif stat.S_ISLNK(st.st_mode):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    raise UnsafeLayerEntry(
                        entry, f"more than {MAX_SYMLINK_HOPS} symlinks in {quoted(rel)}"
                    )
                _follow(host, resolved, todo)
            else:
                raise ExtractError(entry, self.root, f"parent {quoted(candidate)} is not a directory")
        result = "/".join(resolved)
        if self._ignore.ignores(result):
            return IGNORED
        self._cache[rel] = result
        return result

    def resolve(self, rel: str, entry: str, *, create: bool) -> str | _Ignored | None:
        """``rel`` with its parents resolved and its last component left alone (not followed)."""
        cut = rel.rfind("/")
        parent = self.resolve_dir(rel[:cut] if cut != -1 else "", entry, create=create)
        if parent is None or parent is IGNORED:
            return parent
        name = rel[cut + 1 :]
        result = f"{parent}/{name}" if parent else name
        if self._ignore.is_listed(result):
            return IGNORED
        return result
