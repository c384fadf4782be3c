"""One-line notices a build gives about what lamina does not do as written: a ``# syntax=``
frontend other than Dockerfile's own (lamina is its own Dockerfile frontend and runs no frontend
image), and ``RUN --security=insecure`` (RUN already has the container's capabilities)."""

from __future__ import annotations

import re

from executor.dockerfile.instructions import RunInstruction
from executor.dockerfile.parser import Dockerfile

__all__ = ["build_notices", "is_dockerfile_frontend"]

# docker/dockerfile (or its -upstream builds), on Docker Hub however spelled, at a 1.x release,
# its -labs variant or a channel tag, optionally pinned by digest
_FRONTEND = re.compile(
    r"(?:(?:docker\.io|index\.docker\.io|registry-1\.docker\.io)/)?docker/dockerfile(?:-upstream)?"
    r"(?::(?:1(?:\.\d+){0,2}(?:-labs|-experimental)?|labs|latest|experimental|master(?:-labs)?))?"
    r"(?:@sha256:[0-9a-f]{64})?\Z")


def is_dockerfile_frontend(syntax: str) -> bool:
    """Whether ``# syntax=<syntax>`` names a release of the Dockerfile frontend lamina implements."""
    return _FRONTEND.match(syntax.strip()) is not None


def build_notices(dockerfile: Dockerfile) -> list[str]:
    notices = []
    syntax = dockerfile.directives.syntax
    if syntax is not None and not is_dockerfile_frontend(syntax.split(" ", 1)[0]):
        line = dockerfile.directives.lines.get("syntax")
        notices.append(f"{dockerfile.name}:{line}: # syntax={syntax} is not a Dockerfile frontend lamina knows; "
                       "lamina builds with its own Dockerfile frontend (docker/dockerfile:1) and ignores it")
    insecure = [run.line for stage in dockerfile.stages for run in stage.instructions
                if isinstance(run, RunInstruction) and run.security == "insecure"]
    if insecure:
        where = ", ".join(str(line) for line in insecure)
        notices.append(f"{dockerfile.name}: RUN --security=insecure (line{'s' if len(insecure) > 1 else ''} "
                       f"{where}) changes nothing: RUN steps already have the executor container's "
                       "capabilities")
    return notices
