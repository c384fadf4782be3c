"""ENV: environment variables in the image config."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import parse_env


class EnvCommand(MetadataCommand):
    def execute(self, ctx: StepContext) -> None:
        for key, value in parse_env(self.instruction.args, ctx.state.expansion_env(), **self.where(ctx)):
            ctx.state.set_env(key, value)
