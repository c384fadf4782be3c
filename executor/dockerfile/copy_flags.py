"""Values of COPY/ADD ``--chown`` and ``--chmod``, checked and split; resolving names against the
image's /etc/passwd and /etc/group is the COPY command's job."""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor.dockerfile.errors import DockerfileError

__all__ = ["Chown", "parse_chown", "parse_chmod"]

_OCTAL = re.compile(r"[0-7]+\Z")


@dataclass(frozen=True)
class Chown:
    """``user[:group]``; each part is a name or a numeric id, still unresolved."""

    user: str
    group: str | None

    @property
    def uid(self) -> int | None:
        return int(self.user) if self.user.isascii() and self.user.isdigit() else None

    @property
    def gid(self) -> int | None:
        if self.group is None:
            return None
        return int(self.group) if self.group.isascii() and self.group.isdigit() else None


def parse_chown(spec: str, *, line: int | None = None, dockerfile: str = "Dockerfile") -> Chown:
    """Split ``--chown=user:group`` at the first ``:`` (after ARG substitution)."""
    user, colon, group = spec.partition(":")
    if user == "" or (colon and group == ""):
        raise DockerfileError(f"invalid --chown value {spec!r}: expected user[:group]", line, dockerfile)
    return Chown(user=user, group=group if colon else None)


def parse_chmod(spec: str, *, line: int | None = None, dockerfile: str = "Dockerfile") -> int:
    """``--chmod=0755`` as permission bits; only octal, up to 07777, as BuildKit's classic rule."""
    if not _OCTAL.match(spec) or int(spec, 8) > 0o7777:
        raise DockerfileError(
            f"invalid chmod parameter {spec}. it should be octal string and between 0 and 07777", line, dockerfile
        )
    return int(spec, 8)
