"""USER: the user (and group) later RUN commands and the container run as."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext


class UserCommand(MetadataCommand):
    def execute(self, ctx: StepContext) -> None:
        user = self.expand(ctx, self.instruction.args.strip())
        if not user:
            raise self.error(ctx, "USER requires an argument")
        ctx.state.run_config["User"] = user
