"""Whether this machine can run a foreign platform's binaries: a RUN in a stage built for
linux/arm64 on an amd64 machine runs under the kernel's binfmt_misc handler for arm64 ELF files
(QEMU user emulation: Debian's qemu-user-static registers ``qemu-aarch64``), checked before the
build pulls anything.

The handler must carry the F (fix binary) flag: the kernel then opens the interpreter when it is
registered, so it is found from inside the build root (a chroot or pivot_root in sandbox mode, the
build's own files on ``/`` in a container), where its path does not exist. Inside a container
binfmt_misc is usually not mounted, though the kernel applies the host's handlers all the same:
there a stub executable of the architecture is run to find out."""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from executor.errors import UsageError
from executor.image import Platform

__all__ = ["BINFMT_DIR", "BINFMT_DIR_SWITCH", "BinfmtHandler", "EmulationUnavailable",
           "check_emulation", "elf_header", "probe", "registered_handlers", "runs_natively"]

log = logging.getLogger("lamina")

BINFMT_DIR = Path("/proc/sys/fs/binfmt_misc")
# Tests only: read handlers from this directory instead (one holding only a ``status`` file: a
# machine without any handler; one without ``status``: binfmt_misc not mounted, so a stub is run).
BINFMT_DIR_SWITCH = "LAMINA_TEST_BINFMT_DIR"

# OCI architecture -> (ELF e_machine, 64-bit, little-endian) and QEMU's name for it
_ELF: Mapping[str, tuple[int, bool, bool]] = {
    "amd64": (62, True, True), "386": (3, False, True), "arm64": (183, True, True),
    "arm": (40, False, True), "ppc64le": (21, True, True), "s390x": (22, True, False),
    "riscv64": (243, True, True), "mips64le": (8, True, True), "loong64": (258, True, True),
}
_QEMU = {"amd64": "x86_64", "386": "i386", "arm64": "aarch64", "arm": "arm", "ppc64le": "ppc64le",
         "s390x": "s390x", "riscv64": "riscv64", "mips64le": "mips64el", "loong64": "loongarch64"}
# what a machine of the first architecture runs without emulation besides its own
_NATIVE_TOO = {"amd64": frozenset({"386"})}


class EmulationUnavailable(UsageError):
    """A stage with RUN is built for a platform this machine cannot run binaries of."""


def runs_natively(platform: Platform, build: Platform) -> bool:
    return platform.os == build.os and (platform.architecture == build.architecture
                                        or platform.architecture in _NATIVE_TOO.get(build.architecture, ()))


def elf_header(architecture: str) -> bytes | None:
    """The first 20 bytes of a static executable of ``architecture`` (what binfmt_misc's magic
    handlers match); None for an architecture not known here."""
    if architecture not in _ELF:
        return None
    machine, is_64, little = _ELF[architecture]
    order: Literal["little", "big"] = "little" if little else "big"
    ident = bytes([0x7F, ord("E"), ord("L"), ord("F"), 2 if is_64 else 1, 1 if little else 2, 1, 0])
    return ident + bytes(8) + (2).to_bytes(2, order) + machine.to_bytes(2, order)  # ET_EXEC


@dataclass(frozen=True)
class BinfmtHandler:
    """One entry of ``/proc/sys/fs/binfmt_misc`` (a magic-matching one)."""

    name: str
    enabled: bool
    interpreter: str
    flags: str
    offset: int
    magic: bytes
    mask: bytes

    @classmethod
    def parse(cls, name: str, text: str) -> BinfmtHandler | None:
        """The entry as the kernel prints it; None for extension-matching entries."""
        fields: dict[str, str] = {}
        enabled = False
        for line in text.splitlines():
            if line.strip() in ("enabled", "disabled"):
                enabled = line.strip() == "enabled"
                continue
            key, _, value = line.partition(" ")
            fields[key] = value.strip()
        if "magic" not in fields:
            return None
        try:
            magic = bytes.fromhex(fields["magic"])
            mask = bytes.fromhex(fields["mask"]) if "mask" in fields else b"\xff" * len(magic)
            offset = int(fields.get("offset", "0"))
        except ValueError:
            return None
        return cls(name, enabled, fields.get("interpreter", ""),
                   fields.get("flags:", fields.get("flags", "")), offset, magic, mask)

    def matches(self, header: bytes) -> bool:
        start = self.offset
        if start + len(self.magic) > len(header):
            return False
        return all(header[start + i] & self.mask[i] == self.magic[i] & self.mask[i]
                   for i in range(len(self.magic)))


def registered_handlers(directory: Path) -> list[BinfmtHandler] | None:
    """The enabled handlers in ``directory``; None when binfmt_misc is not mounted there (as in
    most containers: the kernel still applies the host's handlers, they just cannot be read)."""
    try:
        status = (directory / "status").read_text().strip()
        names = sorted(os.listdir(directory))
    except OSError:
        return None
    if status != "enabled":
        return []
    handlers = []
    for name in names:
        if name in ("status", "register"):
            continue
        try:
            handler = BinfmtHandler.parse(name, (directory / name).read_text())
        except OSError:
            continue
        if handler is not None and handler.enabled:
            handlers.append(handler)
    return handlers


def probe(architecture: str, scratch: Path) -> int | None:
    """Exec a stub executable of ``architecture`` (an ELF header, no program) from ``scratch``:
    None when the kernel started it (under a binfmt_misc handler: the interpreter then rejects the
    stub, which does not matter), else the errno of the failed exec (ENOEXEC: no handler; ENOENT:
    a handler whose interpreter is not found here, one without the F flag)."""
    header = elf_header(architecture)
    if header is None:
        return errno.ENOEXEC
    scratch.mkdir(parents=True, exist_ok=True)
    stub = scratch / f"binfmt-probe-{architecture}"
    stub.write_bytes(header.ljust(64, b"\0"))
    os.chmod(stub, 0o700)
    try:
        subprocess.run([str(stub)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=30, check=False)
    except OSError as error:
        return error.errno or errno.ENOEXEC
    except subprocess.TimeoutExpired:
        return None  # it ran
    finally:
        stub.unlink(missing_ok=True)
    return None


def check_emulation(platforms: Iterable[Platform], build: Platform, directory: Path = BINFMT_DIR,
                    scratch: Path | None = None) -> None:
    """Raise ``EmulationUnavailable`` (one line: the platform, and how to enable emulation) unless
    every one of ``platforms`` runs natively or under a binfmt_misc handler with the F flag. Where
    binfmt_misc is not mounted (a container), a stub of each architecture is run from ``scratch``
    (default a temporary directory) instead."""
    handlers: list[BinfmtHandler] | None = None
    read = False
    for platform in dict.fromkeys(platforms):
        if runs_natively(platform, build):
            continue
        if platform.os != build.os:
            raise EmulationUnavailable(
                f"{platform}: RUN cannot run here: this machine runs {build.os} binaries, not "
                f"{platform.os}; build that platform on a {platform.os} machine")
        if not read:
            handlers, read = registered_handlers(directory), True
        qemu = _QEMU.get(platform.architecture, platform.architecture)
        enable = (f"install Debian's qemu-user-static and binfmt-support on the host (on Kubernetes, "
                  f"the node) and run `update-binfmts --enable qemu-{qemu}`, or build this "
                  f"platform on a {platform.architecture} machine")
        if handlers is None:
            _probe_or_raise(platform, scratch, enable)
            continue
        header = elf_header(platform.architecture)
        found = [h for h in handlers if header is not None and h.matches(header)]
        if not found:
            raise EmulationUnavailable(
                f"{platform}: RUN needs emulation and no binfmt_misc handler for "
                f"{platform.architecture} binaries is registered in {directory}: {enable}")
        fixed = [h for h in found if "F" in h.flags]
        if not fixed:
            raise EmulationUnavailable(
                f"{platform}: the binfmt_misc handler {found[0].name} for {platform.architecture} "
                f"binaries lacks the F flag, so RUN inside the build root cannot find its "
                f"interpreter {found[0].interpreter}: register it with F ({enable})")
        log.info("%s: RUN steps run under the binfmt_misc handler %s (%s)", platform,
                 fixed[0].name, fixed[0].interpreter)


def _probe_or_raise(platform: Platform, scratch: Path | None, enable: str) -> None:
    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="lamina-binfmt-") as temporary:
            failed = probe(platform.architecture, Path(temporary))
    else:
        failed = probe(platform.architecture, scratch)
        with contextlib.suppress(OSError):
            scratch.rmdir()
    if failed is None:
        log.info("%s: RUN steps run under the kernel's binfmt_misc handler (binfmt_misc is not "
                 "mounted here; a stub for %s ran)", platform, platform.architecture)
    elif failed == errno.ENOEXEC:
        raise EmulationUnavailable(
            f"{platform}: RUN needs emulation and this kernel runs no {platform.architecture} "
            f"binaries (binfmt_misc is not mounted here; a stub did not run): {enable}")
    elif failed == errno.ENOENT:
        raise EmulationUnavailable(
            f"{platform}: a binfmt_misc handler for {platform.architecture} binaries is "
            f"registered but its interpreter is not found from here: register it with the F flag "
            f"({enable})")
    else:
        log.warning("%s: could not tell whether this kernel runs %s binaries (a stub failed: %s); "
                    "RUN steps may fail with an exec format error", platform, platform.architecture,
                    os.strerror(failed))
