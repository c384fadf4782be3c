"""``--chmod`` values: octal as BuildKit always took them, and symbolic modes (dockerfile 1.14+),
applied as BuildKit does with ``tonistiigi/dchapes-mode`` (BSD ``setmode`` with umask 0).

The table is dchapes-mode's ``TestApply`` (mode_test.go, the cases with umask 0), except that the
mode.go BuildKit vendors (v0.0.0-20250318174251-73d941a28323, moby/buildkit commit
73ed6825c4b7569379ef89df0aedcdbe64473d31) makes ``-X`` clear execute bits like ``-x``, where the
upstream test still expects no change. The errors are BuildKit's (``testCopyInvalidChmod``).
"""

from __future__ import annotations

import pytest

from executor.dockerfile import DockerfileError, parse_chmod

DIR = "dir"
SUID, SGID, STICKY = 0o4000, 0o2000, 0o1000

# (mode before, mode after, symbolic mode); ("dir", n) is a directory
APPLY = [
    (0o777, 0o000, "="), (0o777, 0o777, "+"), (0o421, 0o421, "+"), (0o777, 0o777, "-"), (0o421, 0o421, "-"),
    (0o421, STICKY | 0o421, "+t"), (STICKY | 0o421, 0o421, "-t"),
    (0, 0o400, "u+r"), (0, 0o200, "u+w"), (0, 0o100, "u+x"), (0, 0, "u+X"), (0o001, 0o101, "u+X"),
    ((DIR, 0), (DIR, 0o100), "u+X"), (0, SUID, "u+s"),
    (0, 0o040, "g+r"), (0, 0o020, "g+w"), (0, 0o010, "g+x"), (0, 0, "g+X"), (0o100, 0o110, "g+X"),
    ((DIR, 0), (DIR, 0o010), "g+X"), (0, SGID, "g+s"),
    (0, 0o004, "o+r"), (0, 0o002, "o+w"), (0, 0o001, "o+x"), (0, 0, "o+X"), (0o100, 0o101, "o+X"),
    ((DIR, 0), (DIR, 0o001), "o+X"), (0, 0, "o+s"),
    (0, 0o421, "0421"), (0, STICKY | SUID | SGID | 0o421, "07421"),
    (0, 0o444, "+r"), (0, 0o222, "+w"), (0, 0o111, "+x"), (0, 0, "+X"), (0o010, 0o111, "+X"),
    ((DIR, 0), (DIR, 0o111), "+X"), (0, SUID | SGID, "+s"),
    (0o777, 0o333, "-r"), (0o777, 0o555, "-w"), (0o777, 0o666, "-x"),
    (0o777, 0o666, "-X"), ((DIR, 0o777), (DIR, 0o666), "-X"),  # the vendored mode.go (see above)
    (SUID | SGID | 0o777, 0o777, "-s"),
    (0o777, 0o377, "u-r"), (0o777, 0o577, "u-w"), (0o777, 0o677, "u-x"),
    (0o777, 0o677, "u-X"), ((DIR, 0o777), (DIR, 0o677), "u-X"),  # likewise
    (SUID | 0o777, 0o777, "u-s"),
    (0, 0o600, "u=rw"), (0o777, 0o677, "u=rw"), (0o777, 0o077, "u="), (0, 0o666, "=rw"), (0o777, 0o666, "=rw"),
    (0o042, 0o442, "u=g"), (0o742, 0o442, "u=g"), (0o722, 0o022, "u=g-w"), (0o742, 0o442, "u=g-w"),
    (0o762, 0o462, "u=g-w"), (0o772, 0o572, "u=g-w"),
    (0o021, 0o121, "u+o"), (0o021, 0o221, "u+g"), (0o021, 0o321, "u+go"),
    (0, 0o764, "a=r,ug=rw,u+x"), (0o777, 0o764, "a=r,ug=rw,u+x"),
    (0, STICKY | 0o624, "o+r,g+w,a+t,g-s,u+og"), (SGID | 0o100, STICKY | 0o724, "o+r,g+w,a+t,g-s,u+og"),
    ((DIR, SUID | SGID), (DIR, SUID | STICKY | 0o624), "o+r,g+w,a+t,g-s,u+og"),
    # chmod(1)'s examples
    (0o777, 0o644, "644"), (0o777, 0o755, "go-w"), (0, 0o755, "u=rwx,go=rx"), (0, 0o755, "u=rwx,go=u-w"),
    (0o777, 0o700, "go="), (0o770, 0o755, "go=u-w"), (0o670, 0o644, "go=u-w"), (0o570, 0o555, "go=u-w"),
    (0o370, 0o311, "go=u-w"),
]


@pytest.mark.parametrize(("before", "after", "spec"), APPLY, ids=[f"{c[2]}@{c[0]}" for c in APPLY])
def test_apply(before: int | tuple[str, int], after: int | tuple[str, int], spec: str) -> None:
    is_dir = isinstance(before, tuple)
    old = before[1] if isinstance(before, tuple) else before
    new = after[1] if isinstance(after, tuple) else after
    assert parse_chmod(spec).mode_for(old, is_dir=is_dir) == new


# BuildKit's testChmodNonOctal (dockerfile_copy_test.go): a 0666 file and a 0124 directory
@pytest.mark.parametrize(("spec", "mode", "is_dir", "expected"), [
    ("go-w", 0o666, False, 0o644), ("u=rw,g=r,o=r", 0o666, False, 0o644), ("a+X", 0o666, False, 0o666),
    ("go-w", 0o124, True, 0o104), ("u+rw,g+r,o-x,o+w", 0o124, True, 0o766), ("a+X", 0o124, True, 0o135),
])
def test_buildkit_non_octal_cases(spec: str, mode: int, is_dir: bool, expected: int) -> None:
    assert parse_chmod(spec).mode_for(mode, is_dir=is_dir) == expected


def test_octal_ignores_the_source_mode() -> None:
    chmod = parse_chmod("0755")
    assert chmod.octal == 0o755
    assert chmod.mode_for(0o4777, is_dir=True) == chmod.mode_for(0, is_dir=False) == 0o755


@pytest.mark.parametrize("spec", ["64a", "10000", "0o755", "88", "9", "077777"])
def test_numeric_but_not_octal_is_buildkits_octal_error(spec: str) -> None:
    with pytest.raises(DockerfileError) as caught:
        parse_chmod(spec, line=4)
    assert str(caught.value) == (f"Dockerfile:4: invalid chmod parameter: '{spec}'. it should be octal string and "
                                 "between 0 and 07777")


@pytest.mark.parametrize("spec", ["", ",", "q+r", "z", "u", "g", "o", "go", "u+x,", "-755", "u+rwz", "a+b", "x"])
def test_symbolic_syntax_errors(spec: str) -> None:
    with pytest.raises(DockerfileError, match="invalid syntax"):
        parse_chmod(spec, line=2)
