"""Instructions as the parser hands them over: the fields every instruction has (``Instruction``) and,
for each keyword, a typed subclass with its flags and arguments already split and checked, as
BuildKit's ``instructions/parse.go`` builds ``RunCommand``, ``CopyCommand``, ``HealthCheckCommand``.

Values that need ``$VAR`` expansion stay as written: expansion needs the build-time environment
and is the build's job (see ``ShellLexer`` and ``keyvalue.expand_pairs``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from executor.dockerfile.healthcheck import HealthConfig
from executor.dockerfile.heredoc import Heredoc
from executor.dockerfile.mounts import MountSpec

__all__ = [
    "AddInstruction",
    "ArgInstruction",
    "CopyInstruction",
    "ExposeInstruction",
    "FromInstruction",
    "HealthcheckInstruction",
    "Instruction",
    "KeyValueInstruction",
    "RunInstruction",
    "ShellInstruction",
    "ValueInstruction",
    "VolumeInstruction",
]


@dataclass(frozen=True)
class Instruction:
    """One instruction as written; CMD, ENTRYPOINT and ONBUILD need nothing more.

    ``original`` is the logical line (continuations joined, comments inside them dropped), what
    Docker records as the instruction's source. ``args`` is the text after the keyword and flags.
    ``json`` is the exec form when ``args`` (for HEALTHCHECK: the text after ``CMD``) is a JSON array
    of strings. ``words`` are BuildKit's raw (unexpanded) arguments: the JSON list, or for
    ADD/COPY/VOLUME/EXPOSE/FROM the whitespace-split shell form, for ARG the quote-aware words, for
    ENV/LABEL the flattened raw key/value pairs, for HEALTHCHECK the type then its command, for
    ONBUILD the trigger's keyword and words, else ``[args]``. ``trigger`` is ONBUILD's instruction.
    ``heredocs`` hold the bodies read after the line; ``end_line`` is then the last terminator's line.
    ``flags`` are the raw ``--name=value`` strings (what cache keys cover); commands read the typed
    fields of the subclasses instead. ``comments`` are the comment lines right before the
    instruction (BuildKit's ``PrevComment``), where build checks find ``# check=skip=...``.
    """

    keyword: str
    line: int
    end_line: int
    original: str
    flags: dict[str, list[str]]
    args: str
    json: list[str] | None
    words: list[str] = field(default_factory=list)
    trigger: Instruction | None = None
    heredocs: tuple[Heredoc, ...] = ()  # RUN/COPY/ADD ``<<EOF`` bodies, in the order announced
    comments: tuple[str, ...] = field(default=(), compare=False)

    @property
    def written_keyword(self) -> str:
        """The keyword as written (``From``, ``copy``): build checks compare casings."""
        return self.original.split(maxsplit=1)[0] if self.original.strip() else self.keyword

    @property
    def is_exec_form(self) -> bool:
        return self.json is not None

    def flag(self, name: str) -> str | None:
        """The (last) value of ``--name``, or None if absent; booleans read "true"/"false"."""
        values = self.flags.get(name)
        return values[-1] if values else None

    def flag_values(self, name: str) -> list[str]:
        """Every value of a repeatable flag such as ``--mount`` or ``--exclude``, in order."""
        return list(self.flags.get(name, []))

    def flag_is_true(self, name: str) -> bool:
        return self.flag(name) == "true"


@dataclass(frozen=True, kw_only=True)
class FromInstruction(Instruction):
    """FROM: the stage's name (``AS name``) is checked with the other stages', see ``Stage``."""

    image: str  # as written, before ARG substitution
    platform: str | None = None  # --platform, as written


@dataclass(frozen=True, kw_only=True)
class RunInstruction(Instruction):
    """RUN: the command is ``json`` (exec form) or ``args`` with ``heredocs`` (shell form)."""

    mounts: tuple[MountSpec, ...] = ()
    network: str | None = None  # default, none or host
    security: str | None = None  # sandbox or insecure


@dataclass(frozen=True, kw_only=True)
class CopyInstruction(Instruction):
    """COPY (and, with the fields of ``AddInstruction``, ADD): raw sources and destination."""

    sources: tuple[str, ...]
    dest: str
    from_: str | None = None  # a stage or an image; expanded with the global ARGs
    chown: str | None = None
    chmod: str | None = None
    link: bool = False
    parents: bool = False
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class AddInstruction(CopyInstruction):
    checksum: str | None = None  # checked when expanded: it may use an ARG
    keep_git_dir: bool | None = None  # git sources: keep .git (None: as the URL's query says)
    unpack: bool | None = None  # None: local archives unpacked, downloaded ones not (BuildKit)


@dataclass(frozen=True, kw_only=True)
class HealthcheckInstruction(Instruction):
    config: HealthConfig


@dataclass(frozen=True, kw_only=True)
class KeyValueInstruction(Instruction):
    """ENV and LABEL: raw (unexpanded, still quoted) ``(key, value)`` pairs."""

    pairs: tuple[tuple[str, str], ...]


@dataclass(frozen=True, kw_only=True)
class ArgInstruction(Instruction):
    """ARG: raw ``(name, default)`` pairs; the default is None for a bare ``ARG NAME``."""

    pairs: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True, kw_only=True)
class ShellInstruction(Instruction):
    shell: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ExposeInstruction(Instruction):
    ports: tuple[str, ...]  # raw words; each may expand to several ports


@dataclass(frozen=True, kw_only=True)
class VolumeInstruction(Instruction):
    paths: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class ValueInstruction(Instruction):
    """USER, WORKDIR, STOPSIGNAL and MAINTAINER: one raw value."""

    value: str
