"""VOLUME: mount points recorded in the image config."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import VolumeInstruction


class VolumeCommand(MetadataCommand[VolumeInstruction]):
    def execute(self, ctx: StepContext) -> None:
        paths = [self.expand(ctx, word) for word in self.instruction.paths]
        if not paths or any(not p.strip() for p in paths):
            raise self.error(ctx, "VOLUME specified can not be an empty string")
        volumes = dict(ctx.state.run_config.get("Volumes") or {})
        for path in paths:
            volumes[path] = {}
        ctx.state.run_config["Volumes"] = volumes
