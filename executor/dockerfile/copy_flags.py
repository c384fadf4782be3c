"""COPY/ADD ``--chown`` values, checked and split; resolving names against the image's /etc/passwd
and /etc/group is the COPY command's job. ``--chmod`` is ``chmod.py``'s."""

from __future__ import annotations

from dataclasses import dataclass

from executor.dockerfile.errors import DockerfileError

__all__ = ["Chown", "parse_chown"]


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
