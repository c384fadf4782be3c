"""Where warnings go while the checks run: ``Linter.run`` drops what the config skips, keeps the
rest with its lines, and remembers which rules fired (for ``error=true``), as BuildKit's
``linter.Linter``."""

from __future__ import annotations

from dataclasses import dataclass, field

from executor.dockerfile.checks.config import CheckConfig
from executor.dockerfile.checks.rules import Rule
from executor.dockerfile.instructions import Instruction

__all__ = ["CheckWarning", "Linter"]


@dataclass(frozen=True)
class CheckWarning:
    """One warning: the rule, BuildKit's message for it, and the lines it points at (0: none)."""

    rule: Rule
    message: str
    line: int
    end_line: int = 0

    @property
    def short(self) -> str:
        """BuildKit's ``LintFormatShort``: what a build prints, ``Rule: message (line N)``."""
        text = f"{self.rule.name}: {self.message}"
        return f"{text} (line {self.line})" if self.line > 0 else text


@dataclass
class Linter:
    config: CheckConfig
    warnings: list[CheckWarning] = field(default_factory=list)
    fired: list[str] = field(default_factory=list)  # rule names, first firing first

    def run(self, rule: Rule, message: str, line: int, end_line: int = 0, *,
            config: CheckConfig | None = None) -> None:
        if not (config or self.config).runs(rule):
            return
        if rule.name not in self.fired:
            self.fired.append(rule.name)
        self.warnings.append(CheckWarning(rule, message, line, end_line or line))

    def at(self, rule: Rule, message: str, instruction: Instruction, *, config: CheckConfig | None = None) -> None:
        """A warning located at ``instruction``, whose own ``# check=`` comments apply."""
        self.run(rule, message, instruction.line, instruction.end_line,
                 config=config or self.config.with_comments(instruction.comments))
