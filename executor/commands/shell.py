"""SHELL: the shell used by the shell form of RUN, CMD and ENTRYPOINT."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import ShellInstruction


class ShellCommand(MetadataCommand[ShellInstruction]):
    def execute(self, ctx: StepContext) -> None:
        if not self.instruction.shell:
            raise self.error(ctx, "SHELL requires the arguments to be in JSON form")
        ctx.state.run_config["Shell"] = list(self.instruction.shell)
