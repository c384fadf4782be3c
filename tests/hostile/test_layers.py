"""Hostile base image layers: contained as containerd applies them, or refused in one line."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

from tests.hostile.conftest import Canary, assert_refused, build, entry, push_base, pushed, tar_of
from tests.support.registry import RunningRegistry

COPY_STEP = "COPY Dockerfile /built\n"


def test_nul_byte_in_an_entry_name_is_one_clean_error(tmp_path: Path, registry: RunningRegistry) -> None:
    info = entry("a")
    info.pax_headers = {"path": "evil\x00name"}
    base = push_base(registry, tmp_path, "nul", [tar_of((info, b"x"))])
    assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "NUL byte", "base image layer")


def test_nul_byte_in_a_link_target_is_one_clean_error(tmp_path: Path, registry: RunningRegistry) -> None:
    info = entry("link", tarfile.SYMTYPE)
    info.pax_headers = {"linkpath": "/etc\x00passwd"}
    base = push_base(registry, tmp_path, "nul-link", [tar_of((info, None))])
    assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "NUL byte")


def test_huge_gnu_long_name_is_refused_without_buffering_or_echoing_it(
        tmp_path: Path, registry: RunningRegistry) -> None:
    name = "n" * (2 << 20)  # 2 MiB: over Go's archive/tar limit of 1 MiB for such headers
    base = push_base(registry, tmp_path, "longname", [tar_of((entry(name), b"x"), fmt=tarfile.GNU_FORMAT)])
    line = assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "extended header")
    assert "nnnnnnnnnnnnnnnnnnnn" not in line


def test_huge_pax_header_is_refused(tmp_path: Path, registry: RunningRegistry) -> None:
    info = entry("a")
    info.pax_headers = {"SCHILY.xattr.user.big": "v" * (2 << 20)}
    base = push_base(registry, tmp_path, "bigpax", [tar_of((info, b"x"))])
    assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "extended header")


def test_a_layer_that_lies_about_its_diff_id_is_refused(tmp_path: Path, registry: RunningRegistry) -> None:
    layer = tar_of((entry("file.txt"), b"content\n"))
    base = push_base(registry, tmp_path, "diffid", [layer], diff_ids=["sha256:" + "0" * 64])
    assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "diff id", "sha256:" + "0" * 64)


def test_absolute_names_and_link_targets_land_under_the_root(
        tmp_path: Path, registry: RunningRegistry, canary: Canary) -> None:
    outside = str(canary.directory)
    layer = tar_of((entry(f"{outside}/abs.txt"), b"absolute\n"),
                   (entry("/etc/target"), b"target\n"),
                   (entry("hard", tarfile.LNKTYPE, linkname="/etc/target"), None),
                   (entry(f"../../..{outside}/climb.txt"), b"climbed\n"))
    base = push_base(registry, tmp_path, "absolute", [layer])
    result = build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}")
    assert result.run.returncode == 0, result.run.error_lines
    assert canary.intact()
    inside = result.root / outside.lstrip("/")
    assert (inside / "abs.txt").read_text() == "absolute\n"
    assert (inside / "climb.txt").read_text() == "climbed\n"  # ".." stops at the root
    assert os.stat(result.root / "hard").st_ino == os.stat(result.root / "etc/target").st_ino
    assert pushed(result.destination)


def test_symlinks_that_leave_the_root_are_followed_inside_it(
        tmp_path: Path, registry: RunningRegistry, canary: Canary) -> None:
    outside = str(canary.directory)
    layer = tar_of((entry("abs", tarfile.SYMTYPE, linkname=outside), None),
                   (entry("abs/through-absolute.txt"), b"a\n"),
                   (entry("up", tarfile.SYMTYPE, linkname="../../../../.." + outside), None),
                   (entry("up/through-climb.txt"), b"b\n"),
                   (entry("rootlink", tarfile.SYMTYPE, linkname="/"), None),
                   (entry("rootlink/etc/via-root.txt"), b"c\n"))
    base = push_base(registry, tmp_path, "symlinks", [layer])
    result = build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}")
    assert result.run.returncode == 0, result.run.error_lines
    assert canary.intact()
    inside = result.root / outside.lstrip("/")
    assert sorted(p.name for p in inside.iterdir()) == ["through-absolute.txt", "through-climb.txt"]
    assert (result.root / "etc/via-root.txt").read_text() == "c\n"
    assert os.readlink(result.root / "abs") == outside  # the links themselves stay as written


def test_hardlink_to_nothing_quotes_a_long_name_briefly(tmp_path: Path, registry: RunningRegistry) -> None:
    layer = tar_of((entry("x" * 5000, tarfile.LNKTYPE, linkname="y" * 5000), None))
    base = push_base(registry, tmp_path, "dangling", [layer])
    line = assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "does not exist")
    assert "more)" in line


def test_a_corrupt_header_is_one_clean_error(tmp_path: Path, registry: RunningRegistry) -> None:
    layer = bytearray(tar_of((entry("file.txt"), b"content\n")))
    layer[148:156] = b"9999999\0"  # the checksum field
    base = push_base(registry, tmp_path, "checksum", [bytes(layer)])
    assert_refused(build(tmp_path, registry, f"FROM {base}\n{COPY_STEP}"), "checksum")


def test_etc_passwd_linked_to_the_host_is_read_inside_the_root(
        tmp_path: Path, registry: RunningRegistry, canary: Canary) -> None:
    (canary.directory / "file").write_text("app:x:4242:4242::/home/app:/bin/sh\n")
    layer = tar_of((entry("etc", tarfile.DIRTYPE, mode=0o755), None),
                   (entry("etc/passwd", tarfile.SYMTYPE, linkname=str(canary.directory / "file")), None))
    base = push_base(registry, tmp_path, "passwd", [layer])
    result = build(tmp_path, registry, f"FROM {base}\nUSER app\nCOPY --chown=app Dockerfile /d\n")
    line = assert_refused(result, ":3:", "app")  # the host's passwd never answered
    assert "4242" not in line
