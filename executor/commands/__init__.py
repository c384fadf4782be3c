"""One module per Dockerfile instruction, behind ``command_for``."""

from __future__ import annotations

from typing import Any

from executor.commands.add import AddCommand
from executor.commands.arg import ArgCommand
from executor.commands.base import CacheInputs, Command, LayerCacheKind, StageState, StepContext
from executor.commands.cmd import CmdCommand
from executor.commands.copy import CopyCommand
from executor.commands.entrypoint import EntrypointCommand
from executor.commands.env import EnvCommand
from executor.commands.expose import ExposeCommand
from executor.commands.healthcheck import HealthcheckCommand
from executor.commands.label import LabelCommand
from executor.commands.maintainer import MaintainerCommand
from executor.commands.onbuild import OnbuildCommand
from executor.commands.run import RunCommand
from executor.commands.shell import ShellCommand
from executor.commands.stopsignal import StopSignalCommand
from executor.commands.user import UserCommand
from executor.commands.volume import VolumeCommand
from executor.commands.workdir import WorkdirCommand
from executor.dockerfile import Instruction, typed_instruction

__all__ = ["CacheInputs", "Command", "LayerCacheKind", "StageState", "StepContext", "command_for"]

COMMANDS: dict[str, type[Command[Any]]] = {
    "ADD": AddCommand, "ARG": ArgCommand, "CMD": CmdCommand, "COPY": CopyCommand,
    "ENTRYPOINT": EntrypointCommand, "ENV": EnvCommand, "EXPOSE": ExposeCommand,
    "HEALTHCHECK": HealthcheckCommand, "LABEL": LabelCommand, "MAINTAINER": MaintainerCommand,
    "ONBUILD": OnbuildCommand, "RUN": RunCommand, "SHELL": ShellCommand,
    "STOPSIGNAL": StopSignalCommand, "USER": UserCommand, "VOLUME": VolumeCommand,
    "WORKDIR": WorkdirCommand,
}


def command_for(instruction: Instruction) -> Command[Any]:
    """The command object for a parsed instruction (the parser already rejected unknown ones and
    typed the rest; an ``Instruction`` built by hand is typed here)."""
    return COMMANDS[instruction.keyword](typed_instruction(instruction))
