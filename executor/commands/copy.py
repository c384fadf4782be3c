"""COPY: files from the build context into the image."""

from __future__ import annotations

import posixpath
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from executor.commands.base import CacheInputs, Command, LayerCacheKind, StepContext
from executor.commands.copy_sources import Excludes, HeredocFiles, ParentsPattern
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
            return CacheInputs(layer=None)
        sources, _dest = self.arguments(ctx)
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
                identity = ctx.users.resolve(spec, purpose="--chown")
            except BuildError as error:
                raise self.error(ctx, str(error)) from None
        chmod = None
        if instruction.chmod is not None:
            chmod = parse_chmod(self.expand(ctx, instruction.chmod), line=instruction.line,
                                dockerfile=ctx.dockerfile_name)
        return CopyOwnership(identity=identity, chmod=chmod, keep_source_owner=not self.reads_context())

    def execute(self, ctx: StepContext) -> None:
        self.copy(ctx, file_hook=None)

    def source_files(self, ctx: StepContext) -> BuildContextFiles:
        """The build context, or with ``--from`` an earlier stage's or an image's files."""
        if self.instruction.from_ is None:
            return ctx.files
        # BuildKit expands --from with the global ARGs (those before the first FROM) only.
        ref = ctx.lexer.process_word(self.instruction.from_, global_scope(ctx.state.global_args),
                                     line=self.instruction.line, dockerfile=ctx.dockerfile_name)
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

    def _expand_heredoc(self, ctx: StepContext, body: str) -> str:
        lexer = replace(ctx.lexer, escape="\\", skip_process_quotes=True)
        return lexer.process_word(body, ctx.state.expansion_env(), line=self.instruction.line,
                                  dockerfile=ctx.dockerfile_name)

    def _copy_sources(self, ctx: StepContext, file_hook: FileHook | None, inline_dir: Path) -> None:
        patterns, dest_word = self.arguments(ctx)
        files = self.source_files(ctx)
        parents = self.instruction.parents
        excludes = Excludes.of([self.expand(ctx, p) for p in self.instruction.exclude])
        # Each source with the path --parents keeps below the destination ("" without --parents).
        sources: list[tuple[ContextSource, str]] = []
        for raw, pattern in zip(self.instruction.sources, patterns, strict=True):
            inline = self.inline_source(ctx, raw, pattern, inline_dir)
            if inline is not None:
                sources.append((inline, ""))
                continue
            spec = ParentsPattern.parse(pattern) if parents else None
            try:
                found = files.sources(spec.pattern if spec else pattern)
            except BuildError as error:
                raise self.error(ctx, f"{self.keyword} failed: {error}") from None
            if not found:
                where = ("the build context or excluded by .dockerignore" if files is ctx.files
                         else f"--from={self.instruction.from_}")
                raise self.error(ctx, f"{self.keyword} failed: {pattern!r} not found in {where}")
            sources.extend((source, spec.kept_path(source) if spec else "")
                           for source in found if not excludes.source_excluded(source))
        workdir = ctx.state.run_config.get("WorkingDir") or "/"
        try:
            dest, dest_is_dir = destination(workdir, dest_word, 1 if parents else len(sources))
        except ValueError as error:
            raise self.error(ctx, str(error)) from None
        engine = CopyEngine(ctx.root, self.ownership(ctx))
        try:
            for source, kept in sources:
                if parents:
                    # --parents: the destination is a directory holding each source's kept path.
                    below = self._kept_parents(ctx, files, engine, source, kept, dest)
                    self._copy_one(ctx, files, engine, source, below, True, file_hook, excludes)
                else:
                    self._copy_one(ctx, files, engine, source, dest, dest_is_dir, file_hook, excludes)
            engine.finish()
        except (BuildError, OSError) as error:
            raise self.error(ctx, f"{self.keyword} failed: {error}") from None

    def _kept_parents(self, ctx: StepContext, files: BuildContextFiles, engine: CopyEngine,
                      source: ContextSource, kept: str, dest: str) -> str:
        """Recreate the directories of ``kept`` below ``dest`` with their source's metadata (as
        BuildKit copies them); return the image directory the source itself goes to or into."""
        kept_dirs = kept if source.path.is_dir() else posixpath.dirname(kept)
        base = source.rel[: len(source.rel) - len(kept)].rstrip("/")
        engine.parents(dest)
        done = ""
        for part in [p for p in kept_dirs.split("/") if p]:
            done = f"{done}/{part}" if done else part
            target = resolve_in_root(ctx.root, f"{dest}/{done}")
            if not target.exists():
                engine.copy_entry(files.root / (f"{base}/{done}" if base else done), target, follow=True)
        return f"{dest}/{kept_dirs}".rstrip("/") if kept_dirs else dest

    def _copy_one(self, ctx: StepContext, files: BuildContextFiles, engine: CopyEngine,
                  source: ContextSource, dest: str, dest_is_dir: bool, file_hook: FileHook | None,
                  excludes: Excludes | None = None) -> None:
        if source.path.is_dir():
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
        engine.copy_entry(source.path, host_target, follow=True)
