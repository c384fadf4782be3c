"""``--ssh default|ID[=SOCKET|KEY[,KEY...]]`` (``docker buildx build --ssh``): the ssh agents
RUN --mount=type=ssh reaches, checked before anything is pulled."""

from __future__ import annotations

import argparse
import os
import stat
from collections.abc import Mapping, Sequence
from pathlib import Path

from executor.cli.repeated import unique_ids
from executor.errors import UsageError
from executor.options import SshSource
from executor.sandbox.ssh_agent import load_keys

__all__ = ["add_flags", "ssh_sources"]


def add_flags(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ssh", action="append", default=[], metavar="default|ID[=SOCKET|KEY[,KEY...]]",
                        help="an ssh agent for RUN --mount=type=ssh,id=ID (buildx's): default is "
                        "$SSH_AUTH_SOCK; SOCKET an agent's socket; KEY private key files lamina's own "
                        "agent serves (never written to the image) (repeatable)")


def ssh_sources(specs: Sequence[str], env: Mapping[str, str]) -> tuple[SshSource, ...]:
    return unique_ids("--ssh", "an ssh agent", specs, lambda spec: _source(spec, env))


def _source(spec: str, env: Mapping[str, str]) -> SshSource:
    """As buildx's ``ParseSSHSpecs``: ``ID`` alone is $SSH_AUTH_SOCK; one socket path is that
    agent; otherwise every path is a private key file."""
    ssh_id, _, rest = spec.partition("=")
    if not ssh_id:
        raise UsageError(f"--ssh {spec!r}: expected default|ID[=SOCKET|KEY[,KEY...]]")
    paths = [p for p in rest.split(",") if p] if rest else []
    if not paths:
        agent = env.get("SSH_AUTH_SOCK", "")
        if not agent:
            raise UsageError(f"--ssh {spec}: SSH_AUTH_SOCK is not set; start an ssh-agent or pass "
                             f"--ssh {ssh_id}=SOCKET or --ssh {ssh_id}=KEYFILE")
        paths = [agent]
    resolved = [Path(path).expanduser().absolute() for path in paths]
    kinds = [_kind(spec, path) for path in resolved]
    if kinds == ["socket"]:
        return SshSource(id=ssh_id, socket=resolved[0])
    if "socket" in kinds:
        raise UsageError(f"--ssh {spec!r}: give either one agent socket or key files, not both")
    load_keys(ssh_id, resolved)  # readable, unencrypted, a supported type: said now, not at a RUN
    return SshSource(id=ssh_id, keys=tuple(resolved))


def _kind(spec: str, path: Path) -> str:
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise UsageError(f"--ssh {spec!r}: {path}: {error.strerror}") from None
    if stat.S_ISSOCK(mode):
        return "socket"
    if not stat.S_ISREG(mode):
        raise UsageError(f"--ssh {spec!r}: {path} is neither an agent socket nor a key file")
    return "key"
