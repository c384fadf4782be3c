"""The executor's own files under the kaniko dir (``bin/``, ``lib/``, the entrypoints), sealed
at start-up by their stat facts and checked after every RUN in container mode: a RUN that got
past its confinement and changed the executor stops the build before the executor runs again."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from executor.errors import BuildError

__all__ = ["BundleSeal"]

BUNDLE_PARTS = ("bin", "lib", "executor", "warmer")

Facts = tuple[int, int, int, int, int]  # inode, mode, size, mtime ns, ctime ns


def _facts(st: os.stat_result) -> Facts:
    return (st.st_ino, st.st_mode, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def _walk(kaniko_dir: Path) -> dict[str, Facts]:
    seen: dict[str, Facts] = {}
    todo = [kaniko_dir / part for part in BUNDLE_PARTS]
    while todo:
        path = todo.pop()
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            continue
        seen[str(path)] = _facts(st)
        if path.is_dir() and not path.is_symlink():
            todo.extend(path / name for name in os.listdir(path))
    return seen


@dataclass(frozen=True)
class BundleSeal:
    kaniko_dir: Path
    facts: dict[str, Facts]

    @classmethod
    def take(cls, kaniko_dir: Path) -> BundleSeal:
        return cls(kaniko_dir, _walk(kaniko_dir))

    def verify(self) -> None:
        """Raise if anything of the bundle was added, removed or changed since ``take``."""
        now = _walk(self.kaniko_dir)
        if now == self.facts:
            return
        changed = sorted(set(now) ^ set(self.facts) | {p for p in now if self.facts.get(p) != now[p]})
        raise BuildError(f"the executor's own files under {self.kaniko_dir} changed during a RUN "
                         f"({changed[0]}{f' and {len(changed) - 1} more' if len(changed) > 1 else ''}); "
                         "stopping: nothing is pushed")
