"""MAINTAINER (deprecated): the image's author."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext


class MaintainerCommand(MetadataCommand):
    def execute(self, ctx: StepContext) -> None:
        ctx.state.image_values["author"] = self.expand(ctx, self.instruction.args.strip())
