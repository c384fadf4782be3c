"""Resolve ``USER`` and ``--chown`` names against the build root's own /etc/passwd and /etc/group."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from executor.errors import BuildError
from snapshot.rootfs import SymlinkLoop, resolve_in_root

MAX_ID = 2**32 - 2
MAX_TABLE_SIZE = 64 * 1024 * 1024  # a hostile image must not make us read a device or gigabytes


@dataclass(frozen=True)
class Identity:
    uid: int
    gid: int
    groups: tuple[int, ...] = ()
    home: str = "/"  # from /etc/passwd; runc's default HOME for RUN


def _read_table(root: Path, path: str) -> list[list[str]]:
    """The lines of an image file, split on ':'; the file is resolved inside the root (an image
    whose /etc/passwd links to /etc/shadow of the host reads the image's own), and one that is
    missing, a directory or too large to be a table is empty."""
    try:
        host = resolve_in_root(root, path)
        with open(host, "rb") as table:
            data = table.read(MAX_TABLE_SIZE + 1)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError, SymlinkLoop):
        return []
    if len(data) > MAX_TABLE_SIZE:
        raise BuildError(f"{path} in the image is larger than {MAX_TABLE_SIZE} bytes")
    text = data.decode(errors="replace")
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


@dataclass(frozen=True)
class UserDatabase:
    """The passwd and group tables of a build root, read when needed."""

    root: Path

    def _passwd(self) -> list[list[str]]:
        return [row for row in _read_table(self.root, "etc/passwd") if len(row) >= 4]

    def _group(self) -> list[list[str]]:
        return [row for row in _read_table(self.root, "etc/group") if len(row) >= 3]

    def lookup_user(self, name: str) -> tuple[int, int, str, str] | None:
        """(uid, primary gid, name, home) for a user name or numeric uid found in /etc/passwd."""
        for row in self._passwd():
            if row[0] == name or (name.isdigit() and row[2] == name):
                try:
                    return int(row[2]), int(row[3]), row[0], (row[5] if len(row) > 5 and row[5] else "/")
                except ValueError:
                    continue
        return None

    def lookup_group(self, name: str) -> int | None:
        if name.isdigit():
            return int(name)
        for row in self._group():
            if row[0] == name:
                try:
                    return int(row[2])
                except ValueError:
                    continue
        return None

    def supplementary_groups(self, user_name: str) -> tuple[int, ...]:
        gids = []
        for row in self._group():
            members = row[3].split(",") if len(row) > 3 else []
            if user_name in members:
                try:
                    gids.append(int(row[2]))
                except ValueError:
                    continue
        return tuple(sorted(set(gids)))

    def resolve(self, spec: str, *, purpose: str = "USER") -> Identity:
        """``user``, ``uid``, ``user:group`` or ``uid:gid`` as a RUN or COPY --chown would use it.

        As runc does: a known user gets its primary group and memberships; a numeric uid absent
        from /etc/passwd runs with gid 0; an unknown name is an error. The supplementary groups
        are the memberships plus the primary group, or only the group named after the colon.
        """
        user, _, group = spec.partition(":")
        found = self.lookup_user(user or "0")
        if found is None:
            if user and not user.isdigit():
                raise BuildError(f"{purpose} {spec!r}: no user {user!r} in the image's /etc/passwd")
            uid, gid, name, home = int(user or 0), 0, None, ("/root" if not user or user == "0" else "/")
        else:
            uid, gid, name, home = found
        if group:
            resolved = self.lookup_group(group)
            if resolved is None:
                raise BuildError(f"{purpose} {spec!r}: no group {group!r} in the image's /etc/group")
            gid = resolved
            groups: tuple[int, ...] = (gid,)
        else:
            members = self.supplementary_groups(name) if name else ()
            groups = tuple(sorted({*members, gid}))
        for kind, number in (("uid", uid), *(("gid", g) for g in groups)):
            if not 0 <= number <= MAX_ID:  # the kernel's ids are 32 bits, (uid_t)-1 reserved
                raise BuildError(f"{purpose} {spec!r}: {kind} {number} is out of range (0 to {MAX_ID})")
        return Identity(uid=uid, gid=gid, groups=groups, home=home)
