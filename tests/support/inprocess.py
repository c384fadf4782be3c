"""The middle tier: a build run in this process, through the same flag parsing and error
reporting as the CLI, on a temp --root with a real registry, but without a process of its own.
Where the CLI itself is not what a test is about, this saves the interpreter start-up and import
of every case, and the test reads the build's structured events instead of its text."""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from executor.builder import execute
from executor.cli import parse_options
from executor.cli.main import failure
from executor.errors import LaminaError
from executor.events import EVENT, FIELDS


@dataclass(frozen=True)
class Event:
    name: str
    fields: dict[str, Any]
    message: str


@dataclass
class InProcessRun:
    returncode: int
    error: str | None  # the one line the CLI would print after "error: "
    digest: str | None
    events: list[Event] = field(default_factory=list)
    messages: list[str] = field(default_factory=list)

    @property
    def error_lines(self) -> list[str]:
        return [f"error: {self.error}"] if self.error is not None else []

    def named(self, name: str) -> list[Event]:
        return [e for e in self.events if e.name == name]


class _Recorder(logging.Handler):
    def __init__(self, run: InProcessRun) -> None:
        super().__init__(logging.DEBUG)
        self.run = run

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        self.run.messages.append(message)
        name = getattr(record, EVENT, None)
        if name is not None:
            self.run.events.append(Event(name, dict(getattr(record, FIELDS, {})), message))


def build_in_process(workdir: Path, context: Path | str, *args: str,
                     env: dict[str, str] | None = None) -> InProcessRun:
    """``executor --context CONTEXT --root WORKDIR/root --kaniko-dir WORKDIR/kaniko ARGS...``,
    as ``tests.support.executor.run_executor`` runs it, in this process."""
    environ = {**os.environ, "DOCKER_CONFIG": str(workdir / "no-docker-config"), **(env or {})}
    argv = ["--context", str(context), "--root", str(workdir / "root"),
            "--kaniko-dir", str(workdir / "kaniko"), *args]
    run = InProcessRun(returncode=0, error=None, digest=None)
    recorder = _Recorder(run)
    logger = logging.getLogger("lamina")
    previous_level = logger.level
    logger.addHandler(recorder)
    logger.setLevel(logging.DEBUG)
    try:
        run.digest = execute(parse_options(argv, environ), env=environ)
    except (LaminaError, OSError) as error:
        run.error, run.returncode = failure(error)
    finally:
        logger.removeHandler(recorder)
        logger.setLevel(previous_level)
    return run
