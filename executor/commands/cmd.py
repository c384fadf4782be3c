"""CMD: the default command (or ENTRYPOINT arguments)."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.commands.run import DEFAULT_SHELL
from executor.dockerfile import Instruction


def command_form(ctx: StepContext, json: list[str] | None, args: str) -> list[str]:
    """Exec form as written; shell form wrapped in the current SHELL."""
    if json is not None:
        return list(json)
    return [*(ctx.state.run_config.get("Shell") or DEFAULT_SHELL), args]


class CmdCommand(MetadataCommand[Instruction]):
    def execute(self, ctx: StepContext) -> None:
        ctx.state.run_config["Cmd"] = command_form(ctx, self.instruction.json, self.instruction.args)
        ctx.state.cmd_set = True
