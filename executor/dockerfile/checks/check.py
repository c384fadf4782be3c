"""All the build checks on one parsed Dockerfile: ``check_dockerfile`` runs BuildKit's rules in
BuildKit's order (parse-time rules, stage names and casing, FROM lines, then each stage's
instructions) and says what fired and whether that fails the build."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field

from executor.dockerfile.args import platform_args
from executor.dockerfile.checks.config import CheckConfig, CheckOptionError
from executor.dockerfile.checks.from_rules import check_from_lines
from executor.dockerfile.checks.linter import CheckWarning, Linter
from executor.dockerfile.checks.source_rules import check_source
from executor.dockerfile.checks.stage_rules import BaseImageConfig, check_stages
from executor.dockerfile.dockerignore import DockerIgnore
from executor.dockerfile.errors import DockerfileError, ShellExpansionError
from executor.dockerfile.parser import Dockerfile

__all__ = ["CHECK_BUILD_ARG", "CheckInputs", "CheckResult", "check_config", "check_dockerfile"]

# BuildKit's build arg that replaces the Dockerfile's "# check=" directive
CHECK_BUILD_ARG = "BUILDKIT_DOCKERFILE_CHECK"


def _unknown_image(_name: str) -> BaseImageConfig | None:
    return None


@dataclass(frozen=True)
class CheckInputs:
    """What the checks read besides the Dockerfile. ``stages``: the stages whose instructions are
    checked (a build's: the target and what it needs, as BuildKit's build warns only about those);
    None checks every stage, as ``--check`` does. ``base_config`` gives an image's Env and Shell
    when known (nothing is pulled to find out). ``automatic_args``: BuildKit's predefined platform
    ARGs, linux/amd64's when None."""

    build_args: Mapping[str, str] = field(default_factory=dict)
    ignore: DockerIgnore | None = None
    stages: Collection[int] | None = None
    base_config: Callable[[str], BaseImageConfig | None] = _unknown_image
    automatic_args: Mapping[str, str] | None = None
    target: str | None = None


@dataclass(frozen=True)
class CheckResult:
    warnings: tuple[CheckWarning, ...]  # by line
    config: CheckConfig
    fired: tuple[str, ...]  # the rules that warned, first to warn first
    error: DockerfileError | None = None  # what stopped the checks (a FROM that does not expand)
    dockerfile: str = "Dockerfile"  # its name, for errors

    @property
    def violation(self) -> DockerfileError | None:
        """With ``error=true``, the error a warning makes of the build (BuildKit's words)."""
        if not self.config.error or not self.fired:
            return None
        line = self.warnings[0].line if self.warnings else None
        return DockerfileError(f"lint violation found for rules: {', '.join(self.fired)}", line or None,
                               self.dockerfile)


def check_config(dockerfile: Dockerfile, build_args: Mapping[str, str]) -> CheckConfig:
    """The ``# check=`` directive's config, or the ``BUILDKIT_DOCKERFILE_CHECK`` build arg's."""
    if CHECK_BUILD_ARG in build_args:
        text, line = build_args[CHECK_BUILD_ARG], None
    else:
        # BuildKit reads a directive's value up to its first space
        text = (dockerfile.directives.check or "").split(" ", 1)[0]
        line = dockerfile.directives.lines.get("check")
    try:
        return CheckConfig.parse(text)
    except CheckOptionError as error:
        raise DockerfileError(f"failed to parse check options: {error}", line, dockerfile.name) from None


def _automatic(inputs: CheckInputs) -> dict[str, str]:
    values = dict(platform_args()) if inputs.automatic_args is None else dict(inputs.automatic_args)
    for name in ("BUILDOSVERSION", "TARGETOSVERSION"):
        values.setdefault(name, "")
    values.setdefault("TARGETSTAGE", inputs.target or "default")
    return values


def check_dockerfile(dockerfile: Dockerfile, inputs: CheckInputs | None = None) -> CheckResult:
    """Run every check; raises ``DockerfileError`` only for a malformed ``check=`` value."""
    inputs = inputs or CheckInputs()
    config = check_config(dockerfile, inputs.build_args)
    lint = Linter(config)
    check_source(dockerfile, lint)
    automatic = _automatic(inputs)
    error: DockerfileError | None = None
    try:
        bases, scope = check_from_lines(dockerfile, inputs.build_args, automatic, lint)
        check_stages(dockerfile, bases, lint, global_values=scope.values, build_args=inputs.build_args,
                     ignore=inputs.ignore, stages=inputs.stages, base_config=inputs.base_config)
    except (DockerfileError, ShellExpansionError) as stopped:
        error = stopped
    warnings = tuple(sorted(lint.warnings, key=lambda warning: warning.line))
    return CheckResult(warnings, config, tuple(lint.fired), error, dockerfile.name)
