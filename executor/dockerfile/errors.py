"""Errors of the Dockerfile package; all are ``DockerfileError``s so the CLI reports them as one line."""

from __future__ import annotations

from executor.errors import DockerfileError

__all__ = ["DockerfileError", "DockerignoreError", "ShellExpansionError"]


class ShellExpansionError(DockerfileError):
    """``$VAR`` substitution or quote removal failed (bad ``${...}``, unterminated quote, ``${X:?msg}``).

    ``detail`` is the bare message; ``at(line)`` re-raises it with the Dockerfile location the
    lexer itself does not know.
    """

    def __init__(self, detail: str, line: int | None = None, dockerfile: str = "Dockerfile") -> None:
        super().__init__(detail, line, dockerfile)
        self.detail = detail
        self.dockerfile = dockerfile

    def at(self, line: int | None, dockerfile: str | None = None) -> ShellExpansionError:
        """The same error located at ``line`` of ``dockerfile``."""
        return ShellExpansionError(self.detail, line, dockerfile or self.dockerfile)


class DockerignoreError(DockerfileError):
    """A malformed ``.dockerignore`` pattern (``[`` without ``]``, a lone ``!``, ...)."""

    def __init__(self, message: str, line: int | None = None, dockerfile: str = ".dockerignore") -> None:
        super().__init__(message, line, dockerfile)
