"""ONBUILD: a trigger recorded in the image config for images built FROM this one."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import Instruction


class OnbuildCommand(MetadataCommand[Instruction]):
    def execute(self, ctx: StepContext) -> None:
        trigger = self.instruction.args.strip()
        if not trigger:
            raise self.error(ctx, "ONBUILD requires an instruction")
        ctx.state.run_config["OnBuild"] = [*(ctx.state.run_config.get("OnBuild") or []), trigger]
