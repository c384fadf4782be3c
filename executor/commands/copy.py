"""COPY: files from the build context into the image."""

from __future__ import annotations

import posixpath
from pathlib import Path
from typing import Callable

from executor.build.context import ContextSource
from executor.commands.base import Command, StepContext
from executor.commands.copying import CopyEngine, CopyOwnership, destination, target_for_file
from executor.dockerfile import parse_chmod
from executor.errors import BuildError

# Handles a file source specially (ADD's archive extraction); returns True when it did.
FileHook = Callable[[ContextSource, str, CopyEngine], bool]


class CopyCommand(Command):
    changes_files = True
    keyword = "COPY"

    def arguments(self, ctx: StepContext) -> tuple[list[str], str]:
        # BuildKit expands each raw word on its own (quotes do not group words in the shell form).
        words = [self.expand(ctx, word) for word in self.instruction.words]
        if len(words) < 2:
            raise self.error(ctx, f"{self.keyword} requires at least two arguments")
        return words[:-1], words[-1]

    def ownership(self, ctx: StepContext) -> CopyOwnership:
        flags = self.instruction.flags
        identity = None
        if flags.get("chown"):
            spec = self.expand(ctx, flags["chown"][-1])
            try:
                identity = ctx.users.resolve(spec, purpose="--chown")
            except BuildError as error:
                raise self.error(ctx, str(error)) from None
        chmod = None
        if flags.get("chmod"):
            chmod = parse_chmod(self.expand(ctx, flags["chmod"][-1]), line=self.instruction.line,
                                dockerfile=ctx.dockerfile_name)
        return CopyOwnership(identity=identity, chmod=chmod)

    def execute(self, ctx: StepContext) -> None:
        if self.instruction.flags.get("from"):
            raise self.error(ctx, "COPY --from is not supported yet")
        self.copy(ctx, file_hook=None)

    def copy(self, ctx: StepContext, file_hook: FileHook | None) -> None:
        patterns, dest_word = self.arguments(ctx)
        sources: list[ContextSource] = []
        for pattern in patterns:
            found = ctx.files.sources(pattern)
            if not found:
                raise self.error(ctx, f"{self.keyword} failed: {pattern!r} not found in the build "
                                      "context or excluded by .dockerignore")
            sources.extend(found)
        workdir = ctx.state.run_config.get("WorkingDir") or "/"
        try:
            dest, dest_is_dir = destination(workdir, dest_word, len(sources))
        except ValueError as error:
            raise self.error(ctx, str(error)) from None
        engine = CopyEngine(ctx.root, self.ownership(ctx))
        try:
            for source in sources:
                self._copy_one(ctx, engine, source, dest, dest_is_dir, file_hook)
            engine.finish()
        except (BuildError, OSError) as error:
            raise self.error(ctx, f"{self.keyword} failed: {error}") from None

    def _copy_one(self, ctx: StepContext, engine: CopyEngine, source: ContextSource, dest: str,
                  dest_is_dir: bool, file_hook: FileHook | None) -> None:
        if source.path.is_dir():
            # A directory's contents are copied, not the directory itself.
            target_dir = engine.parents(dest)
            engine.copy_entry(source.path, target_dir, follow=True)
            engine.copy_tree_contents(list(ctx.files.children(source)), source, target_dir)
            return
        if file_hook is not None and file_hook(source, dest, engine):
            return
        name = posixpath.basename(source.rel) or Path(source.path).name
        image_target, host_target = target_for_file(ctx.root, dest, dest_is_dir, name)
        engine.parents(posixpath.dirname(image_target) or "/")
        engine.copy_entry(source.path, host_target, follow=True)
