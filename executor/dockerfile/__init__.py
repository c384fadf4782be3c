"""The Dockerfile side of a build: parsing into stages and ``Instruction``s with line numbers,
Docker's ``$VAR`` substitution and word splitting, ENV/LABEL/ARG pairs and ``.dockerignore``.

Nothing here touches a filesystem except ``DockerIgnore.load``/``walk_context``.
"""

from __future__ import annotations

from executor.dockerfile.copy_flags import Chown, parse_chmod, parse_chown
from executor.dockerfile.dockerignore import DockerIgnore, IgnorePattern
from executor.dockerfile.errors import DockerfileError, DockerignoreError, ShellExpansionError
from executor.dockerfile.flags import FLAG_SPECS, FlagKind
from executor.dockerfile.healthcheck import HealthConfig, health_config, parse_go_duration
from executor.dockerfile.keyvalue import parse_arg, parse_env, parse_label, split_arg_pairs, split_key_values
from executor.dockerfile.lines import Directives
from executor.dockerfile.parser import KEYWORDS, Dockerfile, Instruction, Stage, parse_dockerfile, parse_instruction
from executor.dockerfile.shell_lexer import ShellLexer

__all__ = [
    "KEYWORDS",
    "FLAG_SPECS",
    "Chown",
    "Directives",
    "DockerIgnore",
    "Dockerfile",
    "DockerfileError",
    "DockerignoreError",
    "FlagKind",
    "HealthConfig",
    "IgnorePattern",
    "Instruction",
    "ShellExpansionError",
    "ShellLexer",
    "Stage",
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
]
