"""COPY/ADD ``--chmod``: an octal mode, or a symbolic one (``u+x,g-w``, ``a=r``, ``go-rwx``,
``+X``), as BuildKit takes it (dockerfile 1.14+: ``dispatchCopy`` tries octal first, then
``tonistiigi/dchapes-mode``, BSD ``setmode`` with umask 0). A symbolic mode is applied to each
copied file and directory relative to its source's mode; ``X`` adds execute permission to
directories and to files someone may already execute."""

from __future__ import annotations

import re
from dataclasses import dataclass

from executor.dockerfile.errors import DockerfileError

__all__ = ["Chmod", "parse_chmod"]

_OCTAL = re.compile(r"[0-7]+\Z")
_SET_ID, _STICKY, _EXEC = 0o6000, 0o1000, 0o111
_STANDARD = 0o6777  # setmode's standardBits: every bit but the sticky one
_WHO = {"a": _STANDARD, "u": 0o4700, "g": 0o2070, "o": 0o007}
_ALL = 0xFFFF  # with umask 0 nothing is masked
_CLASS_BITS = (("u", 0o400, 6), ("g", 0o040, 3), ("o", 0o004, 0))


@dataclass(frozen=True)
class _BitCommand:
    """One step of a symbolic mode (setmode's ``bitcmd``): ``+``/``-`` set or clear ``bits``; ``X``
    sets them on a directory or an already executable file; ``u``/``g``/``o`` copy that class's
    bits onto the classes in ``copy_to``, adding (``+``), removing (``-``) or replacing (``=``)."""

    op: str
    bits: int
    copy_to: frozenset[str] = frozenset()
    how: str = ""

    def apply(self, old: int, new: int, is_dir: bool) -> int:
        if self.op == "+":
            return new | self.bits
        if self.op == "-":
            return new & ~self.bits
        if self.op == "X":  # looks at the mode before the change, as setmode does
            return new | self.bits if old & _EXEC or is_dir else new
        value = {"u": (new & 0o700) >> 6, "g": (new & 0o070) >> 3, "o": new & 0o007}[self.op]
        for who, _, shift in _CLASS_BITS:
            if who in self.copy_to:
                if self.how in ("-", "="):
                    new &= ~((0o7 if self.how == "=" else value) << shift & self.bits)
                if self.how in ("+", "="):
                    new |= value << shift & self.bits
        return new


@dataclass(frozen=True)
class Chmod:
    """A ``--chmod`` value: ``octal``, or the ``commands`` of a symbolic mode."""

    spec: str
    octal: int | None = None
    commands: tuple[_BitCommand, ...] = ()

    def mode_for(self, mode: int, *, is_dir: bool) -> int:
        """The permission bits (07777) of the copy of an entry whose mode is ``mode``."""
        if self.octal is not None:
            return self.octal
        old = new = mode & 0o7777
        for command in self.commands:
            new = command.apply(old, new, is_dir)
        return new & 0o7777


class _Symbolic:
    """setmode's parser: clauses ``[ugoa]*([-+=][rwxXst]*|[-+=][ugo])+`` separated by commas."""

    def __init__(self, spec: str) -> None:
        self.rest = spec
        self.commands: list[_BitCommand] = []

    def parse(self) -> tuple[_BitCommand, ...] | None:
        while True:
            who = 0
            while self.rest[:1] in _WHO and self.rest:
                who |= _WHO[self.rest[0]]
                self.rest = self.rest[1:]
            if not self.rest:
                return None
            while True:  # one or more "op perms" after the who letters
                op, self.rest = self.rest[0], self.rest[1:]
                if op not in "+-=":
                    return None
                who = self._perms(op, who & ~_STICKY)
                if not self.rest or self.rest[0] == ",":
                    break
            if not self.rest:
                return tuple(self.commands)
            self.rest = self.rest[1:]

    def _perms(self, op: str, who: int) -> int:
        """The permission letters after ``op``; the who bits (``t`` adds sticky) for what follows."""
        perm = perm_x = 0
        equal_done = False
        while True:
            letter = self.rest[:1]
            if letter == "r":
                perm |= 0o444
            elif letter == "w":
                perm |= 0o222
            elif letter == "x":
                perm |= _EXEC
            elif letter == "X":
                perm_x, perm = (_EXEC, perm) if op != "-" else (perm_x, perm | _EXEC)
            elif letter in ("s", "t"):
                if who == 0 or who & ~0o007:  # "o+s" and "o+t" change nothing
                    perm |= _SET_ID if letter == "s" else _STICKY
                    who |= _STICKY if letter == "t" else 0
            elif letter in ("u", "g", "o"):
                if perm:
                    self._add(op, who, perm)
                    perm = 0
                equal_done = equal_done or op == "="
                if perm_x:
                    self._add("X", who, perm_x)
                    perm_x = 0
                self._add_copy(letter, who, op)
            else:
                if perm or (op == "=" and not equal_done):
                    self._add(op, who, perm)
                if perm_x:
                    self._add("X", who, perm_x)
                return who
            self.rest = self.rest[1:]

    def _add(self, op: str, who: int, bits: int) -> None:
        if op == "=":
            self.commands.append(_BitCommand("-", who or _STANDARD))
            op = "+"
        self.commands.append(_BitCommand(op, (who or _ALL) & bits))

    def _add_copy(self, source: str, who: int, how: str) -> None:
        targets = frozenset(name for name, bit, _ in _CLASS_BITS if who & bit) if who else frozenset("ugo")
        self.commands.append(_BitCommand(source, _ALL, targets, how))


def parse_chmod(spec: str, *, line: int | None = None, dockerfile: str = "Dockerfile") -> Chmod:
    """``--chmod`` (after ARG substitution): octal up to 07777, or a symbolic mode."""
    numeric = DockerfileError(f"invalid chmod parameter: '{spec}'. it should be octal string and between 0 "
                              "and 07777", line, dockerfile)
    if _OCTAL.match(spec):
        if int(spec, 8) > 0o7777:
            raise numeric
        return Chmod(spec, octal=int(spec, 8))
    if spec[:1].isdigit():
        raise numeric  # a number, but no octal one: BuildKit's numeric error
    commands = _Symbolic(spec).parse() if spec else None
    if commands is None:
        raise DockerfileError(f"invalid chmod parameter: '{spec}': invalid syntax (an octal mode up to 07777, "
                              "or a symbolic one such as u+x,g-w or a=rX)", line, dockerfile)
    return Chmod(spec, commands=commands)
