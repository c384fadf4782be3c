"""USER and --chown resolved against a root's own /etc/passwd and /etc/group, the two ways BuildKit
does: a RUN's process (runc's GetExecUser) and the owner of files WORKDIR and COPY --chown make."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.errors import BuildError
from executor.rootfs.users import Identity, UserDatabase

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\nbob:x:1500:50::/srv/bob:/bin/sh\n"
GROUP = "root:x:0:\nwheel:x:10:root,app\nstaff:x:50:app\napp:x:1000:\n"


@pytest.fixture
def users(tmp_path: Path) -> UserDatabase:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text(PASSWD)
    (tmp_path / "etc/group").write_text(GROUP)
    return UserDatabase(tmp_path)


@pytest.fixture
def scratch(tmp_path: Path) -> UserDatabase:
    """A root without /etc at all (FROM scratch)."""
    (tmp_path / "scratch").mkdir()
    return UserDatabase(tmp_path / "scratch")


@pytest.mark.parametrize(("spec", "expected"), [
    ("", Identity(0, 0, (), "/root")),  # no USER: no groups, even though wheel lists root
    ("root", Identity(0, 0, (10,), "/root")),
    ("0", Identity(0, 0, (10,), "/root")),
    ("0:0", Identity(0, 0, (), "/root")),
    ("root:root", Identity(0, 0, (), "/root")),
    ("app", Identity(1000, 1000, (10, 50), "/home/app")),  # not 1000: app's group does not list it
    ("1000", Identity(1000, 1000, (10, 50), "/home/app")),
    ("app:staff", Identity(1000, 50, (), "/home/app")),
    ("1000:50", Identity(1000, 50, (), "/home/app")),
    ("app:4444", Identity(1000, 4444, (), "/home/app")),
    ("4321", Identity(4321, 0, (), "/")),
    ("4321:staff", Identity(4321, 50, (), "/")),
])
def test_a_run_gets_runc_ids_and_groups(users: UserDatabase, spec: str, expected: Identity) -> None:
    assert users.process_identity(spec) == expected


@pytest.mark.parametrize(("spec", "expected"), [
    ("", Identity(0, 0, (), "/")),
    ("0", Identity(0, 0, (), "/")),
    ("0:0", Identity(0, 0, (), "/")),
    ("root:root", Identity(0, 0, (), "/")),
    ("4321", Identity(4321, 0, (), "/")),
])
def test_a_run_needs_no_passwd_for_ids(scratch: UserDatabase, spec: str, expected: Identity) -> None:
    assert scratch.process_identity(spec) == expected


@pytest.mark.parametrize("spec", ["root", "app", "app:0", "0:staff"])
def test_a_run_as_a_name_the_root_does_not_know_is_refused(scratch: UserDatabase, spec: str) -> None:
    with pytest.raises(BuildError, match=f"USER '{spec}': no (user|group)"):
        scratch.process_identity(spec)


@pytest.mark.parametrize(("spec", "uid", "gid"), [
    ("", 0, 0), ("root", 0, 0), ("root:root", 0, 0), ("0", 0, 0),
    ("app", 1000, 1000), ("bob", 1500, 50), ("bob:app", 1500, 1000),
    ("1500", 1500, 1500),  # a uid alone is the gid too, whatever /etc/passwd says
    ("4321", 4321, 4321), ("4321:8765", 4321, 8765), (":staff", 0, 50),
])
def test_file_owners_follow_buildkits_file_operations(users: UserDatabase, spec: str, uid: int, gid: int) -> None:
    owner = users.file_owner(spec, purpose="--chown")
    assert (owner.uid, owner.gid, owner.groups) == (uid, gid, ())


@pytest.mark.parametrize(("spec", "uid", "gid"), [("root", 0, 0), ("root:root", 0, 0), ("0:0", 0, 0),
                                                   ("1234", 1234, 1234)])
def test_file_owners_by_id_or_root_need_no_passwd(scratch: UserDatabase, spec: str, uid: int, gid: int) -> None:
    owner = scratch.file_owner(spec, purpose="--chown")
    assert (owner.uid, owner.gid) == (uid, gid)


@pytest.mark.parametrize(("spec", "error"), [("nosuch", "no user 'nosuch'"), ("app:nosuch", "no group 'nosuch'"),
                                             ("5000000000", "uid 5000000000 is out of range")])
def test_unknown_or_impossible_owners_are_refused(users: UserDatabase, spec: str, error: str) -> None:
    with pytest.raises(BuildError, match=error):
        users.file_owner(spec, purpose="--chown")
