"""ENTRYPOINT: the executable the container starts."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.commands.cmd import command_form
from executor.dockerfile import Instruction


class EntrypointCommand(MetadataCommand[Instruction]):
    def execute(self, ctx: StepContext) -> None:
        ctx.state.run_config["Entrypoint"] = command_form(ctx, self.instruction.json,
                                                          self.instruction.args)
        # As BuildKit: a CMD inherited from the base no longer applies to the new entrypoint.
        if not ctx.state.cmd_set:
            ctx.state.run_config["Cmd"] = None
