"""Cache keys of build steps: sha256 over canonical JSON, never over joined strings.

A step's key covers its parent's key (chained from the base image's config digest and the
platform the stage is built for), the instruction as written and its keyword/flags, the runtime
config in effect (ENV, USER, WORKDIR, ...), the ARGs and --build-args in scope, and for COPY/ADD
the content of every context file it reads after .dockerignore. Any change to any of those is a
different key.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from executor.contexts.files import BuildContextFiles, ContextSource
from executor.events import INPUTS_LOGGER, event

KEY_VERSION = "lamina-cache-v1"  # bump when what goes into a key changes


def digest_json(value: Any) -> str:
    """sha256 of canonical JSON (sorted keys, no whitespace): lists and objects are framed, so
    ``["ab", "c"]`` and ``["a", "bc"]`` can never collide."""
    data = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(data.encode()).hexdigest()


def base_key(config_digest: str, platform: str | None = None) -> str:
    """The first parent of a stage's chain; ``platform`` (the one the stage's RUNs run as) keeps
    the steps of a multi-platform build apart even over the same base config."""
    if platform is None:
        return digest_json([KEY_VERSION, "base", config_digest])
    return digest_json([KEY_VERSION, "base", config_digest, {"platform": platform}])


def step_key(parent: str, instruction: dict[str, Any], run_config: dict[str, Any],
             args: dict[str, Any], files: list[list[Any]] | None) -> str:
    return digest_json([KEY_VERSION, "step", parent, instruction, run_config, args, files])


def file_sha256(path: Path) -> str:
    """The hex sha256 of a file's content, read in 1 MiB chunks."""
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1024 * 1024):
            hasher.update(chunk)
    return hasher.hexdigest()


def _entry(source: ContextSource) -> list[Any]:
    st = os.lstat(source.path)
    if stat.S_ISLNK(st.st_mode):
        content = os.readlink(source.path)
    elif stat.S_ISREG(st.st_mode):
        content = file_sha256(source.path)
    else:
        content = None
    # the permission bits and owner COPY carries over; not mtimes (a fresh checkout changes them)
    return [source.rel, stat.S_IFMT(st.st_mode), stat.S_IMODE(st.st_mode), content]


def context_files(files: BuildContextFiles, patterns: Iterable[str]) -> list[list[Any]]:
    """Every context entry the sources name, directories expanded, .dockerignore applied."""
    entries: list[list[Any]] = []
    for pattern in patterns:
        found = files.sources(pattern)
        entries.append(["pattern", pattern, len(found)])
        for source in found:
            entries.append(_entry(source))
            if source.path.is_dir() and not source.path.is_symlink():
                entries.extend(_entry(child) for child in files.children(source))
    return entries


def _short(value: Any) -> str:
    return digest_json(value)[:16]


def inputs_summary(parent: str, instruction: dict[str, Any], run_config: dict[str, Any],
                   args: dict[str, Any], files: list[list[Any]] | None) -> dict[str, Any]:
    """What went into a key, part by part, for the build report to say why a later key differs:
    the instruction as written; every other part as short digests by name (a build arg's value,
    a context file's entry), so values stay out of the report and it stays small."""
    summary: dict[str, Any] = {
        "parent": parent[:16], "instruction": instruction,
        "config": {name: _short(value) for name, value in sorted(run_config.items())},
        "args": {name: _short(value) for name, value in sorted((args.get("args") or {}).items())},
        "other": {name: _short(value) for name, value in sorted(args.items()) if name != "args"},
    }
    if files is not None:
        summary["files"] = {entry[0]: _short(entry) for entry in files if entry[0] != "pattern"}
        summary["patterns"] = {entry[1]: entry[2] for entry in files if entry[0] == "pattern"}
    return summary


def report_inputs(key: str, cacheable: bool, summary: Callable[[], dict[str, Any]]) -> None:
    """Tell the build report (executor/cli/report.py) what went into ``key``; the summary is
    made only when a report listens (the recorder on :data:`INPUTS_LOGGER`)."""
    logger = logging.getLogger(INPUTS_LOGGER)
    if logger.handlers:
        logger.info("cache key %s", key[:12],
                    extra=event("step.inputs", key=key, cacheable=cacheable, inputs=summary()))
