"""LABEL: key/value metadata in the image config."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import parse_label


class LabelCommand(MetadataCommand):
    def execute(self, ctx: StepContext) -> None:
        pairs = parse_label(self.instruction.args, ctx.state.expansion_env(), **self.where(ctx))
        ctx.state.run_config["Labels"] = {**(ctx.state.run_config.get("Labels") or {}), **dict(pairs)}
