"""The command line: kaniko's flags into frozen options, a build, and one-line errors."""

from __future__ import annotations

from executor.cli.main import (
                               VERBOSITY_LEVELS,
                               CommandLine,
                               FlagParser,
                               build_parser,
                               key_values,
                               main,
                               normalize_booleans,
                               parse_command_line,
                               parse_options,
                               run_cli,
)

__all__ = ["CommandLine", "FlagParser", "VERBOSITY_LEVELS", "build_parser", "key_values", "main",
           "normalize_booleans", "parse_command_line", "parse_options", "run_cli"]
