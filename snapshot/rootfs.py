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
from collections.abc import Callable
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


class _Stop(Exception):
    """Ends a walk early with an answer (an ignored path, a missing directory)."""

    def __init__(self, answer: object) -> None:
        super().__init__()
        self.answer = answer


class _Above(Exception):
    """A ``..`` would leave the root under ``Escape.REFUSE``."""


Step = Callable[[list[str], str, bool], "str | None"]


def _walk(path: str, escape: Escape, step: Step) -> list[str]:
    """The one walk of both resolvers: the components of ``path``, "." and "" skipped, ".." by
    the escape policy, each other component handed to ``step(resolved, part, more_follow)``,
    which appends it to ``resolved`` or returns the host path of a symlink to follow there
    (absolute targets start at the root) up to ``MAX_SYMLINK_HOPS`` times."""
    todo = deque(path.split("/"))
    resolved: list[str] = []
    hops = 0
    while todo:
        part = todo.popleft()
        if part in ("", "."):
            continue
        if part == "..":
            if not _climb(resolved, escape):
                raise _Above()
            continue
        link = step(resolved, part, bool(todo))
        if link is None:
            continue
        hops += 1
        if hops > MAX_SYMLINK_HOPS:
            raise SymlinkLoop(f"more than {MAX_SYMLINK_HOPS} symbolic links resolving {quoted(path)}")
        _follow(link, resolved, todo)
    return resolved


def resolve_in_root(root: Path, path: str, *, follow_final: bool = True,
                    escape: Escape = Escape.CLAMP) -> Path:
    """The host path of ``path`` (image-absolute or root-relative) inside ``root``.

    Missing components are taken as named (the caller may create them); the last component is
    followed only with ``follow_final``. Raises ``SymlinkLoop``, and ``ValueError`` for a ``..``
    above the root under ``Escape.REFUSE``."""

    def step(resolved: list[str], part: str, more: bool) -> str | None:
        candidate = root.joinpath(*resolved, part)
        if (more or follow_final) and candidate.is_symlink():
            return str(candidate)
        resolved.append(part)
        return None

    try:
        return root.joinpath(*_walk(path, escape, step))
    except _Above:
        raise ValueError(f"{quoted(path)} leads above the root") from None


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
        try:
            resolved = _walk(rel, self._escape, lambda done, part, _more: self._step(done, part, entry, create))
        except _Stop as stop:
            return stop.answer  # type: ignore[return-value]
        except _Above:
            raise UnsafeLayerEntry(entry, f"a symlink in {quoted(rel)} leads above the root") from None
        except SymlinkLoop:
            raise UnsafeLayerEntry(entry, f"more than {MAX_SYMLINK_HOPS} symlinks in {quoted(rel)}") from None
        result = "/".join(resolved)
        if self._ignore.ignores(result):
            return IGNORED
        self._cache[rel] = result
        return result

    def _step(self, resolved: list[str], part: str, entry: str, create: bool) -> str | None:
        """One directory component of an entry's parent: followed if a link, created (0755,
        root-owned) if missing and ``create``; an ignored path or a missing one ends the walk."""
        candidate = "/".join((*resolved, part))
        if self._ignore.is_listed(candidate):
            raise _Stop(IGNORED)
        host = self.host(candidate)
        try:
            st = os.lstat(host)
        except FileNotFoundError:
            if not create:
                raise _Stop(None) from None
            try:
                os.mkdir(host, 0o755)
                os.chmod(host, 0o755)  # not narrowed by the umask
            except OSError as e:
                raise ExtractError(entry, self.root, f"cannot create {quoted(candidate)}: {e.strerror}") from e
            resolved.append(part)
            return None
        if stat.S_ISLNK(st.st_mode):
            return host
        if not stat.S_ISDIR(st.st_mode):
            raise ExtractError(entry, self.root, f"parent {quoted(candidate)} is not a directory")
        resolved.append(part)
        return None

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
