"""COPY: files from the build context into the image."""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

from executor.commands.base import CacheInputs, Command, LayerCacheKind, StepContext
from executor.commands.copy_sources import Excludes, HeredocFiles, KeptPath, ParentsPattern
from executor.commands.copying import CopyEngine, CopyOwnership, destination, target_for_file
from executor.contexts.files import BuildContextFiles, ContextSource
from executor.dockerfile import CopyInstruction, parse_chmod
from executor.dockerfile.args import global_scope
from executor.errors import BuildError, LaminaError
from executor.rootfs.paths import resolve_in_root

# Handles a file source specially (ADD's archive extraction); returns True when it did.
FileHook = Callable[[ContextSource, str, CopyEngine], bool]


class CopyCommand(Command[CopyInstruction]):
    changes_files = True
    keyword = "COPY"

    def reads_context(self) -> bool:
        """Whether the sources come from the build context (not ``--from`` a stage or image)."""
        return self.instruction.from_ is None

    def cache_layer(self) -> LayerCacheKind | None:
        return "copy" if self.reads_context() else None

    def cache_inputs(self, ctx: StepContext) -> CacheInputs:
        if not self.reads_context():
            return CacheInputs(layer=None, from_refs=(self.from_ref(ctx),))
        sources, _dest = self.arguments(ctx)
        if self.instruction.parents:
            # what a --parents pattern can match lies below its searched directory
            sources = [ParentsPattern.parse(source).searched() for source in sources]
        return CacheInputs(layer="copy", context_sources=tuple(sources))

    def arguments(self, ctx: StepContext) -> tuple[list[str], str]:
        # BuildKit expands each raw word on its own (quotes do not group words in the shell form).
        sources = [self.expand(ctx, word) for word in self.instruction.sources]
        return sources, self.expand(ctx, self.instruction.dest)

    def ownership(self, ctx: StepContext) -> CopyOwnership:
        instruction = self.instruction
        identity = None
        if instruction.chown is not None:
            spec = self.expand(ctx, instruction.chown)
            try:
                identity = ctx.users.file_owner(spec, purpose="--chown")
            except BuildError as error:
                raise self.error(ctx, str(error)) from None
        chmod = None
        if instruction.chmod is not None:
            chmod = parse_chmod(self.expand(ctx, instruction.chmod), line=instruction.line,
                                dockerfile=ctx.dockerfile_name)
        return CopyOwnership(identity=identity, chmod=chmod, keep_source_owner=not self.reads_context())

    def execute(self, ctx: StepContext) -> None:
        self.copy(ctx, file_hook=None)

    def from_ref(self, ctx: StepContext) -> str:
        """``--from``, expanded as BuildKit does: with the global ARGs (those before the first
        FROM) only."""
        assert self.instruction.from_ is not None
        return ctx.lexer.process_word(self.instruction.from_, global_scope(ctx.state.global_args),
                                      line=self.instruction.line, dockerfile=ctx.dockerfile_name)

    def source_files(self, ctx: StepContext) -> BuildContextFiles:
        """The build context, or with ``--from`` an earlier stage's or an image's files."""
        if self.instruction.from_ is None:
            return ctx.files
        ref = self.from_ref(ctx)
        if ctx.from_sources is None:
            raise self.error(ctx, f"--from={ref}: no stages or images available here")
        try:
            return BuildContextFiles.of_image_root(ctx.from_sources.root_for(ref))
        except LaminaError as error:
            raise self.error(ctx, f"--from={ref}: {error}") from None

    def copy(self, ctx: StepContext, file_hook: FileHook | None) -> None:
        scratch = None
        if ctx.mounts is not None:  # in the kaniko dir, which is never snapshotted
            ctx.mounts.scratch.mkdir(parents=True, exist_ok=True)
            scratch = ctx.mounts.scratch
        with tempfile.TemporaryDirectory(dir=scratch, prefix="sources-") as inline:
            self._copy_sources(ctx, file_hook, Path(inline))

    def inline_source(self, ctx: StepContext, raw: str, word: str, directory: Path) -> ContextSource | None:
        """A source that is not a context path, made into a file in ``directory``: a heredoc here,
        also a URL for ADD. None for an ordinary source (``raw`` as written, ``word`` expanded)."""
        if not self.instruction.heredocs:
            return None
        return HeredocFiles(self.instruction, directory, lambda body: self._expand_heredoc(ctx, body)).source(raw)

    def files_for(self, source: ContextSource, files: BuildContextFiles) -> BuildContextFiles:
        """The files a source's directory entries are read from: ``files``, except for an inline
        source that is a tree of its own (ADD's git checkout)."""
        return files

    def _expand_heredoc(self, ctx: StepContext, body: str) -> str:
        lexer = replace(ctx.lexer, escape="\\", skip_process_quotes=True)
        return lexer.process_word(body, ctx.state.expansion_env(), line=self.instruction.line,
                                  dockerfile=ctx.dockerfile_name)

    def _copy_sources(self, ctx: StepContext, file_hook: FileHook | None, inline_dir: Path) -> None:
        patterns, dest_word = self.arguments(ctx)
        files = self.source_files(ctx)
        parents = self.instruction.parents
        excludes = Excludes.of([self.expand(ctx, p) for p in self.instruction.exclude])
        # Each source with, for --parents, the path it keeps below the destination.
        sources: list[tuple[ContextSource, KeptPath | None]] = []
        pivot_found = False
        for raw, pattern in zip(self.instruction.sources, patterns, strict=True):
            inline = self.inline_source(ctx, raw, pattern, inline_dir)
            if inline is not None:
                sources.append((inline, None))
                continue
            named: Sequence[tuple[ContextSource, KeptPath | None]]
            try:
                if parents:
                    named, pivoted = self._named_with_parents(ctx, files, pattern)
                    pivot_found = pivot_found or pivoted
                else:
                    named = [(source, None) for source in self._named(ctx, files, pattern)]
            except BuildError as error:
                raise self.error(ctx, f"{self.keyword} failed: {error}") from None
            sources.extend((source, kept) for source, kept in named if not excludes.source_excluded(source))
        workdir = ctx.state.run_config.get("WorkingDir") or "/"
        try:
            dest, dest_is_dir = destination(workdir, dest_word, 1 if parents else len(sources))
        except ValueError as error:
            raise self.error(ctx, str(error)) from None
        engine = CopyEngine(ctx.root, self.ownership(ctx))
        try:
            if pivot_found:  # fsutil copies the pivot itself into the destination, matches or not
                engine.parents(dest)
            for source, kept in sources:
                if kept is not None:
                    # --parents: the destination is a directory holding each source's kept path.
                    below = self._kept_parents(ctx, engine, source, kept, dest)
                    self._copy_one(ctx, files, engine, source, below, True, file_hook, excludes)
                else:
                    self._copy_one(ctx, self.files_for(source, files), engine, source, dest, dest_is_dir,
                                   file_hook, excludes)
            engine.finish()
        except (BuildError, OSError) as error:
            raise self.error(ctx, f"{self.keyword} failed: {error}") from None

    def _named(self, ctx: StepContext, files: BuildContextFiles, pattern: str) -> list[ContextSource]:
        """What a source names: a plain path must exist, a wildcard may match nothing
        (``BuildContextFiles.may_match_nothing``)."""
        found = files.sources(pattern)
        if not found and not files.may_match_nothing(pattern):
            raise self._not_found(ctx, files, pattern)
        return found

    def _named_with_parents(self, ctx: StepContext, files: BuildContextFiles, pattern: str
                            ) -> tuple[list[tuple[ContextSource, KeptPath]], bool]:
        """What a --parents source names, each with its kept path; and whether a pivot was found
        (BuildKit makes the destination then, even when nothing below it matched). Without a
        wildcard the path must exist (BuildKit's RequiredPaths)."""
        spec = ParentsPattern.parse(pattern)
        pivots = spec.pivots(files)
        if not pivots and not files.may_match_nothing(spec.pivot):
            raise self._not_found(ctx, files, pattern)
        named = [(entry, KeptPath.of(entry, pivot))
                 for pivot in pivots for entry in files.included(pivot, spec.include)]
        if not named and spec.required:
            raise self._not_found(ctx, files, pattern)
        return named, bool(pivots)

    def _not_found(self, ctx: StepContext, files: BuildContextFiles, pattern: str) -> BuildError:
        where = ("the build context or excluded by .dockerignore" if files is ctx.files
                 else f"--from={self.instruction.from_}")
        return BuildError(f"{pattern!r} not found in {where}")

    def _kept_parents(self, ctx: StepContext, engine: CopyEngine, source: ContextSource, kept: KeptPath,
                      dest: str) -> str:
        """Recreate the directories of the kept path below ``dest`` with their source's metadata
        (as BuildKit copies them); return the image directory the source itself goes to or into."""
        kept_dirs = kept.kept if _is_directory(source.path) else posixpath.dirname(kept.kept)
        engine.parents(dest)
        done = ""
        for part in [p for p in kept_dirs.split("/") if p]:
            done = f"{done}/{part}" if done else part
            target = resolve_in_root(ctx.root, f"{dest}/{done}")
            if not target.exists():
                engine.copy_entry(kept.base / done, target, follow=True)
        return f"{dest}/{kept_dirs}".rstrip("/") if kept_dirs else dest

    def _copy_one(self, ctx: StepContext, files: BuildContextFiles, engine: CopyEngine,
                  source: ContextSource, dest: str, dest_is_dir: bool, file_hook: FileHook | None,
                  excludes: Excludes | None = None) -> None:
        if _is_directory(source.path):
            # A directory's contents are copied, not the directory itself.
            target_dir = engine.parents(dest)
            engine.copy_entry(source.path, target_dir, follow=True)
            children = list(files.children(source))
            if excludes is not None:
                children = excludes.children(children, source)
            engine.copy_tree_contents(children, source, target_dir)
            return
        if file_hook is not None and file_hook(source, dest, engine):
            return
        name = posixpath.basename(source.rel) or Path(source.path).name
        image_target, host_target = target_for_file(ctx.root, dest, dest_is_dir, name)
        engine.parents(posixpath.dirname(image_target) or "/")
        # a named source is resolved already; a link is one found below a --parents pivot, and
        # stays a link, as fsutil's walk copies it
        engine.copy_entry(source.path, host_target, follow=not source.path.is_symlink())


def _is_directory(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()
