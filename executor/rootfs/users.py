"""Resolve ``USER`` and ``--chown`` against the build root's own /etc/passwd and /etc/group, the two
ways BuildKit does: for a process (RUN, runc's rules) and for the owner of files (WORKDIR, COPY
--chown: its file operations' rules)."""

from __future__ import annotations

from collections.abc import Callable
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

    def _user_entry(self, matches: Callable[[list[str]], bool]) -> tuple[int, int, str, str] | None:
        """(uid, primary gid, name, home) of the first passwd entry ``matches`` picks (first wins, as
        in runc), skipping entries whose ids are not numbers."""
        for row in self._passwd():
            if matches(row):
                try:
                    return int(row[2]), int(row[3]), row[0], (row[5] if len(row) > 5 and row[5] else "/")
                except ValueError:
                    continue
        return None

    def lookup_user(self, name: str) -> tuple[int, int, str, str] | None:
        """(uid, primary gid, name, home) for a user name, or a number as a uid, in /etc/passwd."""
        return self._user_entry(lambda row: row[0] == name or (name.isdigit() and row[2] == name))

    def _home_of(self, uid: int) -> str:
        """runc's HOME for a process: the home of the passwd entry with that uid, else ``/``."""
        entry = self._user_entry(lambda row: row[2] == str(uid))
        return entry[3] if entry else "/"

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
        """The gids of the groups that list ``user_name`` as a member (never implied by the primary
        group: runc's GetExecUser only reads the member lists)."""
        gids = []
        for row in self._group():
            members = row[3].split(",") if len(row) > 3 else []
            if user_name in members:
                try:
                    gids.append(int(row[2]))
                except ValueError:
                    continue
        return tuple(sorted(set(gids)))

    def _group_id(self, spec: str, group: str, purpose: str) -> int:
        gid = self.lookup_group(group)
        if gid is None:
            raise BuildError(f"{purpose} {spec!r}: no group {group!r} in the image's /etc/group")
        return gid

    def process_identity(self, spec: str) -> Identity:
        """Who a RUN runs as under ``USER spec`` ("" when no USER was given).

        BuildKit's executor/oci/user.go GetUser (v0.8, docker 20.10) over runc's libcontainer/user
        GetExecUser:
        - no USER, or ``uid:gid`` (numbers or ``root``): exactly those ids (0:0 for none), no
          supplementary groups, /etc/passwd not read;
        - ``name`` or ``uid``: the passwd entry's uid and primary gid (a uid without one: gid 0; a
          name without one is an error), and as supplementary groups those /etc/group lists the
          user in by name (Sgids) -- the primary group only if listed too;
        - ``user:group``: the group after the colon (a gid need not be in /etc/group), and no
          supplementary groups at all (runc fills Sgids only in the implicit form).
        HOME is the passwd home of the resulting uid, ``/`` without one (runc's setupUser).
        """
        if not spec:
            return Identity(uid=0, gid=0, home=self._home_of(0))
        user, colon, group = spec.partition(":")
        uid_number, gid_number = _numeric_id(user), _numeric_id(group)
        if colon and uid_number is not None and gid_number is not None:
            return self._checked(spec, "USER", Identity(uid=uid_number, gid=gid_number,
                                                        home=self._home_of(uid_number)))
        found = self.lookup_user(user)
        if found is None:
            if not user.isdigit():
                raise BuildError(f"USER {spec!r}: no user {user!r} in the image's /etc/passwd")
            uid, gid, name = int(user), 0, None
        else:
            uid, gid, name, _home = found
        groups: tuple[int, ...] = ()
        if colon:
            gid = self._group_id(spec, group, "USER")
        elif name:
            groups = self.supplementary_groups(name)
        return self._checked(spec, "USER", Identity(uid=uid, gid=gid, groups=groups, home=self._home_of(uid)))

    def file_owner(self, spec: str, *, purpose: str) -> Identity:
        """The owner of files made under ``USER spec`` (WORKDIR) or by ``COPY --chown=spec``.

        BuildKit's file operations, not runc's rules (client/llb/fileop.go WithUser, then
        solver/llbsolver/file/user_linux.go readUser): a number, or ``root``, is taken as the uid and, with no group given, as the
        gid too, whatever /etc/passwd says; a name is the passwd entry's uid and primary gid. The
        group after the colon is a number, ``root``, or a name from /etc/group. So ``root`` and ids
        need no /etc/passwd (a ``FROM scratch`` stage). Unlike BuildKit, which silently makes an
        unknown name root, lamina says it does not know it.
        """
        user, colon, group = spec.partition(":")
        uid = _numeric_id(user or "0")
        if uid is not None:
            gid = uid
        else:
            found = self.lookup_user(user)
            if found is None:
                raise BuildError(f"{purpose} {spec!r}: no user {user!r} in the image's /etc/passwd")
            uid, gid, _name, _home = found
        if colon:
            by_number = _numeric_id(group)
            gid = by_number if by_number is not None else self._group_id(spec, group, purpose)
        return self._checked(spec, purpose, Identity(uid=uid, gid=gid))

    @staticmethod
    def _checked(spec: str, purpose: str, identity: Identity) -> Identity:
        for kind, number in (("uid", identity.uid), ("gid", identity.gid), *(("gid", g) for g in identity.groups)):
            if not 0 <= number <= MAX_ID:  # the kernel's ids are 32 bits, (uid_t)-1 reserved
                raise BuildError(f"{purpose} {spec!r}: {kind} {number} is out of range (0 to {MAX_ID})")
        return identity


def _numeric_id(word: str) -> int | None:
    """A uid or gid written as a number, or ``root`` (0), as BuildKit's parseUID reads both."""
    if word == "root":
        return 0
    return int(word) if word.isdigit() else None
