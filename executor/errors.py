"""The executor's exception hierarchy. The CLI turns any of these into one line and an exit code."""

from __future__ import annotations

import signal


class LaminaError(Exception):
    """Base of every error the executor reports to the user as one line."""

    exit_code: int = 1


class UsageError(LaminaError):
    """Bad command-line flags or an environment the executor refuses to run in."""


class DockerfileError(LaminaError):
    """A problem in the Dockerfile, reported with its line number when known."""

    def __init__(self, message: str, line: int | None = None, dockerfile: str = "Dockerfile") -> None:
        where = f"{dockerfile}:{line}: " if line is not None else f"{dockerfile}: "
        super().__init__(where + message)
        self.line = line


class BuildError(LaminaError):
    """A build step failed for a reason other than a bad Dockerfile (missing COPY source, ...)."""


class RunCommandFailed(BuildError):
    """A RUN instruction exited non-zero; the executor exits with the same code, as kaniko does."""

    def __init__(self, command: str, exit_code: int, line: int | None = None) -> None:
        where = f"Dockerfile:{line}: " if line is not None else ""
        super().__init__(f"{where}RUN {command!r} returned a non-zero code: {exit_code}")
        self.exit_code = exit_code if 0 < exit_code < 256 else 1


class BuildInterrupted(LaminaError):
    """SIGTERM/SIGINT/SIGHUP reached the executor; it stopped the running command and gave up."""

    def __init__(self, signum: int) -> None:
        super().__init__(f"build interrupted by {signal.Signals(signum).name}; nothing was pushed")
        self.exit_code = 128 + signum
