"""EXPOSE: ports (with protocol, tcp by default) in the image config."""

from __future__ import annotations

import re

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import ExposeInstruction

_PORT = re.compile(r"^(\d+)(?:-(\d+))?(?:/(tcp|udp|sctp))?$", re.IGNORECASE)


class ExposeCommand(MetadataCommand[ExposeInstruction]):
    def execute(self, ctx: StepContext) -> None:
        ports = dict(ctx.state.run_config.get("ExposedPorts") or {})
        env = ctx.state.expansion_env()
        words = [expanded for raw in self.instruction.ports
                 for expanded in ctx.lexer.process_words(raw, env, line=self.instruction.line,
                                                         dockerfile=ctx.dockerfile_name)]
        for word in words:
            match = _PORT.match(word)
            if not match:
                raise self.error(ctx, f"invalid port for EXPOSE: {word!r}")
            first, last, proto = int(match[1]), int(match[2] or match[1]), (match[3] or "tcp").lower()
            if not 0 < first <= last <= 65535:
                raise self.error(ctx, f"invalid port range for EXPOSE: {word!r}")
            for port in range(first, last + 1):
                ports[f"{port}/{proto}"] = {}
        ctx.state.run_config["ExposedPorts"] = ports
