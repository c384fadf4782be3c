"""An ``Instruction`` into its typed subclass: flags read once and their values checked, with the
Dockerfile line, before any image is pulled (BuildKit's ``instructions.ParseInstruction``).

Values holding a ``$`` are checked at build time, once expanded; everything else is checked here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

from executor.dockerfile.chmod import parse_chmod
from executor.dockerfile.copy_flags import parse_chown
from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.git_url import parse_git_url
from executor.dockerfile.healthcheck import HealthConfig, validate_healthcheck
from executor.dockerfile.instructions import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    ExposeInstruction,
    FromInstruction,
    HealthcheckInstruction,
    Instruction,
    KeyValueInstruction,
    RunInstruction,
    ShellInstruction,
    ValueInstruction,
    VolumeInstruction,
)
from executor.dockerfile.keyvalue import arg_pairs
from executor.dockerfile.mounts import MountError, MountSpec
from executor.dockerfile.shell_lexer import ShellLexer

__all__ = ["health_config", "typed_instruction"]

NETWORK_MODES = ("default", "none", "host")
SECURITY_MODES = ("sandbox", "insecure")


@dataclass(frozen=True)
class _Where:
    escape: str
    line: int
    dockerfile: str

    def fail(self, message: str) -> DockerfileError:
        return DockerfileError(message, self.line, self.dockerfile)

    def literal(self, value: str) -> str:
        """A value without ``$``: quotes and escapes removed, as expansion will (no environment needed)."""
        return ShellLexer(self.escape).process_word(value, {}, line=self.line, dockerfile=self.dockerfile)


def _common(base: Instruction) -> dict[str, Any]:
    return {f.name: getattr(base, f.name) for f in fields(Instruction)}


def _from(base: Instruction, where: _Where) -> Instruction:
    return FromInstruction(**_common(base), image=base.words[0], platform=base.flag("platform"))


def _run(base: Instruction, where: _Where) -> Instruction:
    mounts = []
    for spec in base.flag_values("mount"):
        try:
            mount = MountSpec.parse(spec)
            mount.check(where.literal)
        except MountError as error:
            raise where.fail(f"RUN --mount: {error}") from None
        mounts.append(mount)
    network, security = base.flag("network"), base.flag("security")
    if network is not None and network not in NETWORK_MODES:
        raise where.fail(f"RUN: unsupported network mode {network!r} (use {', '.join(NETWORK_MODES)})")
    if security is not None and security not in SECURITY_MODES:
        raise where.fail(f"RUN: unsupported security mode {security!r} (use {', '.join(SECURITY_MODES)})")
    return RunInstruction(**_common(base), mounts=tuple(mounts), network=network, security=security)


def _copy_fields(base: Instruction, where: _Where) -> dict[str, Any]:
    chmod, chown = base.flag("chmod"), base.flag("chown")
    if chmod is not None and "$" not in chmod:
        parse_chmod(where.literal(chmod), line=where.line, dockerfile=where.dockerfile)
    if chown is not None and "$" not in chown:
        parse_chown(where.literal(chown), line=where.line, dockerfile=where.dockerfile)
    return {**_common(base), "sources": tuple(base.words[:-1]), "dest": base.words[-1],
            "chown": base.flag("chown"), "chmod": chmod, "link": base.flag_is_true("link"),
            "exclude": tuple(base.flag_values("exclude"))}


def _copy(base: Instruction, where: _Where) -> Instruction:
    return CopyInstruction(**_copy_fields(base, where), from_=base.flag("from"),
                           parents=base.flag_is_true("parents"))


def _optional_bool(base: Instruction, name: str) -> bool | None:
    return None if base.flag(name) is None else base.flag_is_true(name)


def _add(base: Instruction, where: _Where) -> Instruction:
    checksum, sources = base.flag("checksum"), base.words[:-1]
    if not any("$" in word for word in sources):
        for word in sources:
            try:
                parse_git_url(word)
            except ValueError as error:
                raise where.fail(f"ADD {word}: {error}") from None
        # dockerfile2llb dispatchCopy: "checksum requires HTTP(S) or Git sources"
        if checksum is not None and (len(sources) != 1 or not (
                sources[0].startswith(("http://", "https://")) or parse_git_url(sources[0]))):
            raise where.fail("ADD --checksum needs exactly one source, an http(s) URL or a git URL")
    return AddInstruction(**_copy_fields(base, where), checksum=checksum,
                          keep_git_dir=_optional_bool(base, "keep-git-dir"),
                          unpack=_optional_bool(base, "unpack"))


def _healthcheck(base: Instruction, where: _Where) -> Instruction:
    config = validate_healthcheck(base.words, base.json, base.flags, line=where.line, dockerfile=where.dockerfile)
    return HealthcheckInstruction(**_common(base), config=config)


def _key_values(base: Instruction, where: _Where) -> Instruction:
    # the parser's words for ENV/LABEL are the flattened raw pairs
    pairs = tuple(zip(base.words[::2], base.words[1::2], strict=True))
    return KeyValueInstruction(**_common(base), pairs=pairs)


def _arg(base: Instruction, where: _Where) -> Instruction:
    return ArgInstruction(**_common(base), pairs=tuple(arg_pairs(base.words)))


def _shell(base: Instruction, where: _Where) -> Instruction:
    return ShellInstruction(**_common(base), shell=tuple(base.json or ()))


def _expose(base: Instruction, where: _Where) -> Instruction:
    return ExposeInstruction(**_common(base), ports=tuple(base.words))


def _volume(base: Instruction, where: _Where) -> Instruction:
    return VolumeInstruction(**_common(base), paths=tuple(base.words))


def _value(base: Instruction, where: _Where) -> Instruction:
    return ValueInstruction(**_common(base), value=base.args.strip())


_BUILDERS: dict[str, Callable[[Instruction, _Where], Instruction]] = {
    "FROM": _from, "RUN": _run, "COPY": _copy, "ADD": _add, "HEALTHCHECK": _healthcheck,
    "ENV": _key_values, "LABEL": _key_values, "ARG": _arg, "SHELL": _shell, "EXPOSE": _expose,
    "VOLUME": _volume, "USER": _value, "WORKDIR": _value, "STOPSIGNAL": _value, "MAINTAINER": _value,
}


def typed_instruction(base: Instruction, *, escape: str = "\\", dockerfile: str = "Dockerfile") -> Instruction:
    """``base`` as its keyword's typed instruction (CMD, ENTRYPOINT, ONBUILD stay ``Instruction``s);
    an instruction that already is one is returned as it is. Raises ``DockerfileError``."""
    build = _BUILDERS.get(base.keyword)
    if build is None or type(base) is not Instruction:
        return base
    return build(base, _Where(escape, base.line, dockerfile))


def health_config(instruction: Instruction, dockerfile: str = "Dockerfile") -> HealthConfig:
    """The ``Healthcheck`` a parsed HEALTHCHECK instruction sets (it was validated when parsed)."""
    if isinstance(instruction, HealthcheckInstruction):
        return instruction.config
    return validate_healthcheck(instruction.words, instruction.json, instruction.flags, line=instruction.line,
                                dockerfile=dockerfile)
