"""Run lamina's executor the way users do: as a process, with kaniko's flags, in a --root sandbox."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ExecutorRun:
    returncode: int
    stdout: str
    stderr: str
    root: Path
    kaniko_dir: Path

    @property
    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith("error:")]

    @property
    def events(self) -> list[dict[str, Any]]:
        """The structured build events of a run with ``--log-format=json`` (one object a line)."""
        entries = [json.loads(line) for line in self.stderr.splitlines() if line.startswith("{")]
        return [entry for entry in entries if "event" in entry]

    def named(self, event: str) -> list[dict[str, Any]]:
        return [entry for entry in self.events if entry["event"] == event]


def run_executor(workdir: Path, context: Path, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 300) -> ExecutorRun:
    """``executor --context CONTEXT --root WORKDIR/root --kaniko-dir WORKDIR/kaniko ARGS...``."""
    root, kaniko_dir = workdir / "root", workdir / "kaniko"
    full_env = {**os.environ, "DOCKER_CONFIG": str(workdir / "no-docker-config"), **(env or {})}
    result = subprocess.run(
        [sys.executable, "-m", "executor", "--context", str(context), "--root", str(root),
         "--kaniko-dir", str(kaniko_dir), *args],
        capture_output=True, text=True, env=full_env, timeout=timeout)
    return ExecutorRun(result.returncode, result.stdout, result.stderr, root, kaniko_dir)


def write_context(directory: Path, dockerfile: str, files: dict[str, str | bytes] | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text(dockerfile)
    for name, content in (files or {}).items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return directory
