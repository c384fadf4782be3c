"""HEALTHCHECK: how the container's health is tested."""

from __future__ import annotations

from executor.commands.base import MetadataCommand, StepContext
from executor.dockerfile import HealthcheckInstruction


class HealthcheckCommand(MetadataCommand[HealthcheckInstruction]):
    def execute(self, ctx: StepContext) -> None:
        health = self.instruction.config
        config: dict[str, object] = {"Test": list(health.test)}
        # Docker's config omits zero durations ("inherit the default").
        for key, value in (("Interval", health.interval), ("Timeout", health.timeout),
                           ("StartPeriod", health.start_period), ("StartInterval", health.start_interval),
                           ("Retries", health.retries)):
            if value:
                config[key] = value
        ctx.state.run_config["Healthcheck"] = config
