"""WORKDIR: the working directory, created in the image if missing."""

from __future__ import annotations

from executor.commands.base import Command, LayerCacheKind, StepContext
from executor.dockerfile import ValueInstruction
from executor.errors import BuildError
from executor.rootfs.paths import image_path, make_directories


class WorkdirCommand(Command[ValueInstruction]):
    changes_files = True

    def cache_layer(self) -> LayerCacheKind | None:
        # Whether the directory was missing depends on the root; the cache records the outcome (a
        # layer, or none) with the RUN layers, as kaniko's CachingWorkdirCommand does, so that a
        # build whose steps all hit needs no root for it.
        return "run"

    def apply_cached(self, ctx: StepContext) -> None:
        self._set_workdir(ctx)

    def execute(self, ctx: StepContext) -> None:
        workdir = self._set_workdir(ctx)
        # BuildKit creates the directory owned by the current USER, as its file operations read it
        # (a uid alone is the gid too; root needs no /etc/passwd).
        try:
            owner = ctx.users.file_owner(ctx.state.run_config.get("User") or "", purpose="USER")
        except BuildError as error:
            raise self.error(ctx, str(error)) from None
        make_directories(ctx.root, workdir, uid=owner.uid, gid=owner.gid)

    def _set_workdir(self, ctx: StepContext) -> str:
        path = self.expand(ctx, self.instruction.value)
        if not path:
            raise self.error(ctx, "WORKDIR requires a path")
        current = ctx.state.run_config.get("WorkingDir") or "/"
        workdir = image_path(current, path).rstrip("/") or "/"
        ctx.state.run_config["WorkingDir"] = workdir
        return workdir
