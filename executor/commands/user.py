"""USER: the user (and group) later RUN commands and the container run as."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import ValueInstruction


class UserCommand(MetadataCommand[ValueInstruction]):
    def execute(self, ctx: StepContext) -> None:
        user = self.expand(ctx, self.instruction.value)
        if not user:
            raise self.error(ctx, "USER requires an argument")
        ctx.state.run_config["User"] = user
