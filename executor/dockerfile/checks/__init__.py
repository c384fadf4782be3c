"""Build checks: BuildKit's Dockerfile lint rules (``docker build --check``), with BuildKit's
names, messages and lines, configured by ``# check=skip=<rules|all>;error=true``.

``check_dockerfile`` runs them on a parsed ``Dockerfile``; ``check_report`` prints the result as
``docker build --check`` does; a build logs ``CheckWarning.short`` lines and fails on
``CheckResult.violation``. ``build_notices`` are lamina's own one-line notices (an unknown
``# syntax=``, ``RUN --security=insecure``). Ported from moby/buildkit
``frontend/dockerfile/linter`` and ``dockerfile2llb/validations.go``.
"""

from __future__ import annotations

from executor.dockerfile.checks.check import (
    CHECK_BUILD_ARG,
    CheckInputs,
    CheckResult,
    check_config,
    check_dockerfile,
)
from executor.dockerfile.checks.config import CheckConfig, CheckOptionError
from executor.dockerfile.checks.linter import CheckWarning
from executor.dockerfile.checks.notices import build_notices, is_dockerfile_frontend
from executor.dockerfile.checks.report import check_report, source_excerpt
from executor.dockerfile.checks.rules import ALL_RULES, Rule
from executor.dockerfile.checks.stage_rules import BaseImageConfig

__all__ = [
    "ALL_RULES",
    "CHECK_BUILD_ARG",
    "BaseImageConfig",
    "CheckConfig",
    "CheckInputs",
    "CheckOptionError",
    "CheckResult",
    "CheckWarning",
    "Rule",
    "build_notices",
    "check_config",
    "check_dockerfile",
    "check_report",
    "is_dockerfile_frontend",
    "source_excerpt",
]
