"""The Dockerfile side of a build: parsing into stages and typed ``Instruction``s with line numbers,
Docker's ``$VAR`` substitution and word splitting, ENV/LABEL/ARG pairs and ``.dockerignore``.

Nothing here touches a filesystem except ``DockerIgnore.load``/``walk_context``.
"""

from __future__ import annotations

from executor.dockerfile.chmod import Chmod, parse_chmod
from executor.dockerfile.copy_flags import Chown, parse_chown
from executor.dockerfile.dockerignore import DockerIgnore, IgnorePattern
from executor.dockerfile.errors import DockerfileError, DockerignoreError, ShellExpansionError
from executor.dockerfile.flags import FLAG_SPECS, FlagKind
from executor.dockerfile.healthcheck import HealthConfig, parse_go_duration
from executor.dockerfile.instructions import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    ExposeInstruction,
    FromInstruction,
    HealthcheckInstruction,
    Instruction,
    KeyValueInstruction,
    RunInstruction,
    ShellInstruction,
    ValueInstruction,
    VolumeInstruction,
)
from executor.dockerfile.keyvalue import (
    expand_pairs,
    parse_arg,
    parse_env,
    parse_label,
    split_arg_pairs,
    split_key_values,
)
from executor.dockerfile.lines import Directives
from executor.dockerfile.mounts import MountError, MountRequest, MountSpec
from executor.dockerfile.parser import KEYWORDS, Dockerfile, Stage, parse_dockerfile, parse_instruction
from executor.dockerfile.shell_lexer import ShellLexer
from executor.dockerfile.typed import health_config, typed_instruction

__all__ = [
    "KEYWORDS",
    "FLAG_SPECS",
    "AddInstruction",
    "ArgInstruction",
    "Chmod",
    "Chown",
    "CopyInstruction",
    "Directives",
    "DockerIgnore",
    "Dockerfile",
    "DockerfileError",
    "DockerignoreError",
    "ExposeInstruction",
    "FlagKind",
    "FromInstruction",
    "HealthConfig",
    "HealthcheckInstruction",
    "IgnorePattern",
    "Instruction",
    "KeyValueInstruction",
    "MountError",
    "MountRequest",
    "MountSpec",
    "RunInstruction",
    "ShellExpansionError",
    "ShellInstruction",
    "ShellLexer",
    "Stage",
    "ValueInstruction",
    "VolumeInstruction",
    "expand_pairs",
    "health_config",
    "parse_arg",
    "parse_chmod",
    "parse_chown",
    "parse_dockerfile",
    "parse_env",
    "parse_go_duration",
    "parse_instruction",
    "parse_label",
    "split_arg_pairs",
    "split_key_values",
    "typed_instruction",
]
