"""Two grammars the FROM checks need: an image name as ``distribution/reference``'s
``ParseNormalizedNamed`` accepts it, and a platform as containerd's ``platforms.Parse`` reads it
(its OS and architecture, normalized)."""

from __future__ import annotations

import re

__all__ = ["parse_platform", "valid_image_name"]

_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_NAME = rf"(?:{_DOMAIN}/)?{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*"
_REFERENCE = re.compile(rf"({_NAME})(?::[\w][\w.-]{{0,127}})?"
                        r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?\Z", re.ASCII)
_IDENTIFIER = re.compile(r"[a-f0-9]{64}\Z")
_NAME_MAX = 255


def valid_image_name(text: str) -> bool:
    """Whether ``text`` is an image reference ``docker pull`` takes (``busybox``, ``a/b:tag``,
    ``host:5000/x@sha256:...``): not empty, its repository lower-case, not a bare 64-hex id."""
    if _IDENTIFIER.match(text):
        return False
    first, slash, rest = text.partition("/")
    if not slash or ("." not in first and ":" not in first and first != "localhost" and first == first.lower()):
        domain, remainder = "docker.io", text
    else:
        domain, remainder = first, rest
    if domain == "docker.io" and "/" not in remainder:
        remainder = "library/" + remainder
    remote = remainder.split(":", 1)[0]
    if remote != remote.lower():
        return False
    match = _REFERENCE.match(f"{domain}/{remainder}")
    return match is not None and len(match.group(1)) <= _NAME_MAX


_KNOWN_OS = frozenset("aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd "
                      "plan9 solaris wasip1 windows zos".split())
_KNOWN_ARCH = frozenset("386 amd64 amd64p32 arm armbe arm64 arm64be loong64 mips mipsle mips64 mips64le "
                        "mips64p32 mips64p32le ppc ppc64 ppc64le riscv riscv64 s390 s390x sparc sparc64 "
                        "wasm".split())
_ARCH_ALIASES = {"i386": "386", "x86_64": "amd64", "x86-64": "amd64", "aarch64": "arm64", "armhf": "arm",
                 "armel": "arm"}
_COMPONENT = re.compile(r"[A-Za-z0-9_.-]+\Z")
_OS_VERSION = re.compile(r"^([A-Za-z0-9_.-]+)\(([A-Za-z0-9_.-]*)\)\Z")


def _os(name: str) -> str:
    name = name.lower()
    return "darwin" if name == "macos" else name


def _arch(name: str) -> str:
    name = name.lower()
    return _ARCH_ALIASES.get(name, name)


def parse_platform(text: str) -> tuple[str, str] | None:
    """``os/arch[/variant]`` (or a lone OS or architecture) as ``(os, arch)``; None where
    containerd's ``platforms.Parse`` fails."""
    if "*" in text:
        return None
    parts = text.split("/")
    version = _OS_VERSION.match(parts[0])
    if version is not None:
        parts[0] = version.group(1)
    if not all(_COMPONENT.match(part) for part in parts):
        return None
    if len(parts) == 1:
        if _os(parts[0]) in _KNOWN_OS:
            return _os(parts[0]), "amd64"
        if _arch(parts[0]) in _KNOWN_ARCH:
            return "linux", _arch(parts[0])
        return None
    if len(parts) in (2, 3):
        return _os(parts[0]), _arch(parts[1])
    return None
