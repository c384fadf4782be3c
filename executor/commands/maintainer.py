"""MAINTAINER (deprecated): the image's author."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import ValueInstruction


class MaintainerCommand(MetadataCommand[ValueInstruction]):
    def execute(self, ctx: StepContext) -> None:
        ctx.state.image_values["author"] = self.expand(ctx, self.instruction.value)
