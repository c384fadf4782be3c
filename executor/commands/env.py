"""ENV: environment variables in the image config."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import KeyValueInstruction, expand_pairs


class EnvCommand(MetadataCommand[KeyValueInstruction]):
    def execute(self, ctx: StepContext) -> None:
        for key, value in expand_pairs(self.instruction.pairs, ctx.state.expansion_env(), **self.where(ctx)):
            ctx.state.set_env(key, value or "")
