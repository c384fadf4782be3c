"""LABEL: key/value metadata in the image config."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import KeyValueInstruction, expand_pairs


class LabelCommand(MetadataCommand[KeyValueInstruction]):
    def execute(self, ctx: StepContext) -> None:
        pairs = expand_pairs(self.instruction.pairs, ctx.state.expansion_env(), **self.where(ctx))
        labels = {key: value or "" for key, value in pairs}
        ctx.state.run_config["Labels"] = {**(ctx.state.run_config.get("Labels") or {}), **labels}
