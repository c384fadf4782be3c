"""STOPSIGNAL: the signal that stops the container."""

from __future__ import annotations

import re

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import ValueInstruction

_SIGNAL = re.compile(r"^(SIG[A-Z0-9+-]+|[A-Z][A-Z0-9+-]*|\d+)$")


class StopSignalCommand(MetadataCommand[ValueInstruction]):
    def execute(self, ctx: StepContext) -> None:
        signal = self.expand(ctx, self.instruction.value)
        if not _SIGNAL.match(signal):
            raise self.error(ctx, f"invalid STOPSIGNAL {signal!r}")
        ctx.state.run_config["StopSignal"] = signal
