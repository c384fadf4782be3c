"""RUN for a foreign platform needs the kernel's binfmt_misc handler (QEMU user emulation) with the
F flag; without one the build stops before it pulls anything, in one line that names the platform
and how to enable emulation. The machine's own handler is never touched: the executor is pointed
at a directory of handlers made here (LAMINA_TEST_BINFMT_DIR). Where binfmt_misc is not mounted (a
container) a stub of the architecture is run instead."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from executor.builder.emulation import (
    BINFMT_DIR_SWITCH,
    BinfmtHandler,
    EmulationUnavailable,
    check_emulation,
    elf_header,
    probe,
)
from executor.image import Platform
from tests.platforms.conftest import AMD64, ARM64, build
from tests.support.executor import write_context
from tests.support.registry import RunningRegistry

# /proc/sys/fs/binfmt_misc/qemu-aarch64 as Debian's qemu-user-static registers it
QEMU_AARCH64 = """enabled
interpreter /usr/libexec/qemu-binfmt/aarch64-binfmt-P
flags: {flags}
offset 0
magic 7f454c460201010000000000000000000200b700
mask ffffffffffffff00fffffffffffffffffeffffff
"""


def binfmt_dir(directory: Path, flags: str | None = "PF", status: str = "enabled") -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "status").write_text(status + "\n")
    (directory / "register").write_text("")
    if flags is not None:
        (directory / "qemu-aarch64").write_text(QEMU_AARCH64.format(flags=flags))
    return directory


def test_handlers_match_elf_headers_of_their_architecture() -> None:
    handler = BinfmtHandler.parse("qemu-aarch64", QEMU_AARCH64.format(flags="PF"))
    assert handler is not None and handler.enabled and handler.flags == "PF"
    assert handler.matches(elf_header("arm64") or b"")
    assert not handler.matches(elf_header("amd64") or b"")
    assert not handler.matches(elf_header("arm") or b"")
    assert BinfmtHandler.parse("jar", "enabled\ninterpreter /usr/bin/jexec\nflags: \nextension .jar\n") is None


def test_check_emulation_says_what_is_missing(tmp_path: Path) -> None:
    check_emulation([ARM64], AMD64, binfmt_dir(tmp_path / "ok"))
    check_emulation([AMD64], AMD64, tmp_path / "none")  # native: nothing to check
    for directory, said in ((binfmt_dir(tmp_path / "empty", flags=None), "no binfmt_misc handler for arm64"),
                            (binfmt_dir(tmp_path / "off", status="disabled"), "no binfmt_misc handler"),
                            (binfmt_dir(tmp_path / "no-f", flags="P"), "lacks the F flag")):
        with pytest.raises(EmulationUnavailable) as raised:
            check_emulation([AMD64, ARM64], AMD64, directory)
        message = str(raised.value)
        assert message.startswith("linux/arm64: ") and said in message
        assert "update-binfmts --enable qemu-aarch64" in message and "\n" not in message


def test_where_binfmt_misc_is_not_mounted_a_stub_is_run(tmp_path: Path, arm64_emulation: None) -> None:
    """As in a container: the host's handlers apply, but cannot be read."""
    check_emulation([ARM64], AMD64, tmp_path / "not-mounted", tmp_path / "scratch")
    assert not (tmp_path / "scratch").exists()
    if probe("riscv64", tmp_path / "scratch") is None:
        pytest.skip("this machine runs riscv64 binaries too")
    with pytest.raises(EmulationUnavailable, match="runs no riscv64 binaries .*qemu-riscv64"):
        check_emulation([Platform("linux", "riscv64")], AMD64, tmp_path / "not-mounted")


def test_without_a_handler_the_build_stops_before_pulling(tmp_path: Path) -> None:
    # nothing listens on port 1: a pull would fail with a connection error, not this one
    context = write_context(tmp_path / "context", "FROM 127.0.0.1:1/never/pulled\nRUN true\n")
    started = time.monotonic()
    run = build(tmp_path, context, "--custom-platform", "linux/amd64,linux/arm64", "--no-push",
                env={BINFMT_DIR_SWITCH: str(binfmt_dir(tmp_path / "no-handler", flags=None))})
    assert run.returncode == 1
    [line] = run.error_lines
    assert line.startswith("error: linux/arm64: RUN needs emulation")
    assert "update-binfmts --enable qemu-aarch64" in line
    assert "127.0.0.1:1" not in run.stderr  # no FROM was even logged
    assert time.monotonic() - started < 30


def test_a_foreign_platform_without_run_needs_no_emulation(tmp_path: Path, registry: RunningRegistry,
                                                           busybox_index: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_index}\nCOPY a.txt /a.txt\n",
                            {"a.txt": "a\n"})
    run = build(tmp_path, context, "--custom-platform", "linux/arm64", "--destination",
                registry.ref("no-run", "arm64"),
                env={BINFMT_DIR_SWITCH: str(binfmt_dir(tmp_path / "no-handler", flags=None))})
    assert run.returncode == 0, run.stderr
