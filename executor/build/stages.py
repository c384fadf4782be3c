"""Multi-stage builds: which stages to build, and the files of built stages and images that later
instructions read (``FROM <stage>``, ``COPY --from``, ``RUN --mount=from=``)."""

from __future__ import annotations

import errno
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

from executor.dockerfile import Dockerfile, ShellLexer, Stage
from executor.errors import DockerfileError, UsageError
from executor.image import Image
from snapshot.ignore import IgnoreList

log = logging.getLogger("lamina")

# Flags whose value may name an earlier stage.
_STAGE_FLAGS = (("COPY", "from"), ("ADD", "from"))


def _stage_refs(stage: Stage) -> list[tuple[str, int]]:
    """(--from value, line) of every COPY --from / RUN --mount from= in the stage, unexpanded."""
    refs = []
    for instruction in stage.instructions:
        for keyword, flag in _STAGE_FLAGS:
            if instruction.keyword == keyword and instruction.flags.get(flag):
                refs.append((instruction.flags[flag][-1], instruction.line))
        if instruction.keyword == "RUN":
            for mount in instruction.flags.get("mount", []):
                for part in mount.split(","):
                    key, _, value = part.partition("=")
                    if key.strip() == "from" and value:
                        refs.append((value.strip(), instruction.line))
    return refs


@dataclass(frozen=True)
class StagePlan:
    """The stages to build, in order, and which of them later stages read files from."""

    order: tuple[int, ...]
    keep_files: frozenset[int]
    target: int


def plan_stages(dockerfile: Dockerfile, target: str | None, skip_unused: bool,
                expand: Callable[[str], str]) -> StagePlan:
    """kaniko's rule: every stage up to the target, or (``--skip-unused-stages``) only those the
    target depends on. ``expand`` substitutes global ARGs in FROM and --from values."""
    if target is None:
        target_index = len(dockerfile.stages) - 1
    else:
        found = dockerfile.find_stage(target)
        if found is None:
            raise UsageError(f"--target {target!r}: no such stage in {dockerfile.name}")
        target_index = found.index

    def file_deps(stage: Stage) -> set[int]:
        """Earlier stages whose files this stage reads (COPY --from, RUN --mount from=)."""
        deps = set()
        for ref, line in _stage_refs(stage):
            found = dockerfile.find_stage(expand(ref))
            if found is not None:
                if found.index >= stage.index:
                    raise DockerfileError(f"--from={ref}: stage {found.index} is not an earlier stage",
                                          line=line, dockerfile=dockerfile.name)
                deps.add(found.index)
        return deps

    def base_dep(stage: Stage) -> set[int]:
        """The earlier stage this stage is built FROM: its image is needed, not its files."""
        base = dockerfile.find_stage(expand(stage.base))
        return {base.index} if base is not None and base.index < stage.index else set()

    stages = dockerfile.stages[: target_index + 1]
    reads_files = {stage.index: file_deps(stage) for stage in stages}
    deps = {stage.index: reads_files[stage.index] | base_dep(stage) for stage in stages}
    if skip_unused:
        needed, todo = set(), [target_index]
        while todo:
            index = todo.pop()
            if index not in needed:
                needed.add(index)
                todo.extend(deps[index])
        order = tuple(sorted(needed))
    else:
        order = tuple(range(target_index + 1))
    # Only --from readers need a stage's root kept; FROM <stage> extracts the stage's image.
    keep = frozenset(ref for index in order for ref in reads_files[index])
    return StagePlan(order=order, keep_files=keep, target=target_index)


def global_scope(global_args: Mapping[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in global_args.items() if v is not None}


def make_expander(lexer: ShellLexer, global_args: Mapping[str, str | None], dockerfile: Dockerfile
                  ) -> Callable[[str], str]:
    scope = global_scope(global_args)

    def expand(word: str) -> str:
        return lexer.process_word(word, scope, dockerfile=dockerfile.name)

    return expand


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


@dataclass
class BuiltStages:
    """Results of the stages built so far: their images and, where needed, their files."""

    dockerfile: Dockerfile
    store: Path  # <kaniko-dir>/stages
    images: dict[int, Image] = field(default_factory=dict)
    files: dict[int, Path] = field(default_factory=dict)

    def stage_for(self, ref: str, current: int) -> Stage | None:
        found = self.dockerfile.find_stage(ref)
        if found is None or found.index >= current:
            return None
        return found

    def save_files(self, index: int, root: Path, ignore: IgnoreList, sandboxed: bool) -> None:
        """Keep the stage's root for later ``--from`` readers.

        In sandbox mode the root is moved aside (a rename, no copying) and recreated empty; on ``/``
        the files are copied out, since ``/`` itself cannot move.
        """
        self.store.mkdir(parents=True, exist_ok=True)
        target = self.store / str(index)
        if target.exists():
            shutil.rmtree(target)
        if sandboxed and os.stat(root).st_dev == os.stat(self.store).st_dev:
            os.rename(root, target)
            root.mkdir()
            os.chmod(root, 0o755)
        else:
            _copy_root(root, target, ignore)
        self.files[index] = target
        log.info("kept the files of stage %d for later stages", index)


def _copy_root(root: Path, target: Path, ignore: IgnoreList) -> None:
    """Copy the root (ignored paths left out) as COPY --from will read it: owners, modes, times
    and hardlinks kept, with the COPY engine itself."""
    # commands import this module (stage names): import the engine late
    from executor.commands.copying import CopyEngine, CopyOwnership

    engine = CopyEngine(target, CopyOwnership(identity=None, chmod=None, keep_source_owner=True))
    target.mkdir(parents=True)
    for dirpath, dirnames, filenames in os.walk(root):
        base = os.path.relpath(dirpath, root)
        base = "" if base == "." else base
        kept_dirs = []
        for name in sorted(dirnames) + sorted(filenames):
            rel = f"{base}/{name}" if base else name
            if ignore.ignores(rel):
                continue
            engine.copy_entry(Path(dirpath, name), target / rel)
            if name in dirnames and not os.path.islink(os.path.join(dirpath, name)):
                kept_dirs.append(name)
        dirnames[:] = kept_dirs
    engine.finish()


@dataclass
class FromSources:
    """Where ``--from=REF`` files come from: a kept earlier stage, or an image extracted once
    under ``<kaniko-dir>/images``."""

    built: BuiltStages
    current: int
    load_image: Callable[[str], Image]
    extract: Callable[[Image, Path], None]
    images_dir: Path

    def root_for(self, ref: str) -> Path:
        stage = self.built.stage_for(ref, self.current)
        if stage is not None:
            if stage.index not in self.built.files:
                raise UsageError(f"--from={ref}: the files of stage {stage.index} were not kept")
            return self.built.files[stage.index]
        if self.built.dockerfile.find_stage(ref) is not None:
            raise UsageError(f"--from={ref} names stage that is not an earlier stage")
        image = self.load_image(ref)
        key = image.config.get("rootfs", {}).get("diff_ids", [])
        name = (key[-1].replace(":", "-") if key else "empty") + f"-{len(key)}"
        target = self.images_dir / name
        if not target.exists():
            partial = self.images_dir / f".{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir(parents=True)
            self.extract(image, partial)
            os.rename(partial, target)
        return target
