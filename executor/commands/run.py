"""RUN: a command executed in the build root (chrooted in sandbox mode)."""

from __future__ import annotations

import logging

from executor.build.rootfs import make_directories
from executor.commands.base import Command, StepContext
from executor.errors import BuildError, RunCommandFailed
from executor.sandbox.runner import ProcessSpec

log = logging.getLogger("lamina")

DEFAULT_SHELL = ["/bin/sh", "-c"]


class RunCommand(Command):
    changes_files = True

    def argv(self, ctx: StepContext) -> list[str]:
        if self.instruction.json is not None:
            if not self.instruction.json:
                raise self.error(ctx, "RUN requires at least one argument")
            return list(self.instruction.json)
        shell = ctx.state.run_config.get("Shell") or DEFAULT_SHELL
        return [*shell, self.instruction.args]

    def execute(self, ctx: StepContext) -> None:
        for flag in self.instruction.flags:
            if flag == "network" and self.instruction.flags[flag][-1] in ("default", "host"):
                continue
            raise self.error(ctx, f"RUN --{flag} is not supported yet")
        argv = self.argv(ctx)
        state = ctx.state
        try:
            user = ctx.users.resolve(state.run_config.get("User") or "")
        except BuildError as error:
            raise self.error(ctx, str(error)) from None
        workdir = state.run_config.get("WorkingDir") or "/"
        make_directories(ctx.root, workdir)
        log.info("RUN %s", " ".join(argv))
        code = ctx.runner.run(ProcessSpec(argv=tuple(argv), env=state.process_env(), cwd=workdir,
                                          uid=user.uid, gid=user.gid, groups=user.groups))
        if code != 0:
            shown = self.instruction.args if self.instruction.json is None else " ".join(argv)
            raise RunCommandFailed(shown, 128 - code if code < 0 else code, line=self.instruction.line)
