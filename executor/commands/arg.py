"""ARG: a build-time variable, set from --build-arg, its default, or a global ARG."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import ArgInstruction, expand_pairs


class ArgCommand(MetadataCommand[ArgInstruction]):
    def execute(self, ctx: StepContext) -> None:
        state = ctx.state
        for name, default in expand_pairs(self.instruction.pairs, state.expansion_env(),
                                          **self.where(ctx)):
            if name in state.build_args:
                state.set_arg(name, state.build_args[name])
            elif default is not None:
                state.set_arg(name, default)
            else:
                state.set_arg(name, state.global_args.get(name))
