"""What every Dockerfile command shares: the state it changes and the context it runs in."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Literal, Protocol, TypeVar

from executor.commands.mounts import MountEnvironment
from executor.contexts.files import BuildContextFiles
from executor.dockerfile import Instruction, ShellLexer
from executor.dockerfile.args import PROXY_ARGS
from executor.errors import DockerfileError
from executor.image import DEFAULT_PATH
from executor.rootfs.users import UserDatabase
from executor.sandbox.runner import CommandRunner

log = logging.getLogger("lamina")


@dataclass
class StageState:
    """The image being built by one stage, as the commands see and change it."""

    run_config: dict[str, Any]
    image_values: dict[str, Any] = field(default_factory=dict)  # top-level config keys (author)
    args: dict[str, str | None] = field(default_factory=dict)  # ARGs declared in this stage
    build_args: Mapping[str, str] = field(default_factory=dict)  # --build-arg values
    global_args: Mapping[str, str | None] = field(default_factory=dict)  # ARGs before FROM
    # Names an ARG with a value set after any ENV of that name: BuildKit adds both to one
    # environment in Dockerfile order (dockerfile2llb dispatchArg: d.state.AddEnv), so the later
    # one wins in $VAR substitution and RUN, while the image's Env keeps the ENV value.
    args_over_env: set[str] = field(default_factory=set)
    cmd_set: bool = False

    def env(self) -> dict[str, str]:
        result: dict[str, str] = {}
        for item in self.run_config.get("Env") or []:
            key, _, value = item.partition("=")
            result[key] = value
        return result

    def set_env(self, key: str, value: str) -> None:
        env = self.env()
        env[key] = value
        self.run_config["Env"] = [f"{k}={v}" for k, v in env.items()]
        self.args_over_env.discard(key)

    def set_arg(self, key: str, value: str | None) -> None:
        """An ARG declared: with no value it leaves an earlier one of the name as it was."""
        if value is None:
            self.args.setdefault(key, None)
            return
        self.args[key] = value
        self.args_over_env.add(key)

    def arg_values(self) -> dict[str, str]:
        """Declared ARGs with a value, and the predefined proxy ARGs given as --build-arg."""
        proxies = {k: v for k, v in self.build_args.items() if k in PROXY_ARGS}
        return {**proxies, **{k: v for k, v in self.args.items() if v is not None}}

    def expansion_env(self) -> dict[str, str]:
        """Variables for ``$VAR`` substitution: declared ARGs and ENV, the later of the two winning
        where both set a name, as BuildKit does."""
        args = self.arg_values()
        return {**args, **self.env(), **{k: args[k] for k in self.args_over_env if k in args}}

    def process_env(self) -> dict[str, str]:
        """The environment of a RUN command: the substitution variables, and a PATH."""
        env = self.expansion_env()
        env.setdefault("PATH", DEFAULT_PATH)
        return env


class FromSources(Protocol):
    """Where ``--from=REF`` files come from (a kept earlier stage, or an image extracted once)."""

    def root_for(self, ref: str) -> Path: ...

    def identity(self, ref: str) -> str:
        """What the files of ``ref`` are, for cache keys (its layers' content)."""
        ...


@dataclass
class StepContext:
    """Everything one command needs to run; passed in, never global."""

    root: Path
    files: BuildContextFiles
    runner: CommandRunner
    state: StageState
    lexer: ShellLexer
    dockerfile_name: str = "Dockerfile"
    from_sources: FromSources | None = None  # COPY --from / RUN --mount from=
    mounts: MountEnvironment | None = None  # RUN --mount: secrets, the cache store, scratch space

    @property
    def users(self) -> UserDatabase:
        return UserDatabase(self.root)


# Which --cache-*-layers option lets a step's layer come from the cache.
LayerCacheKind = Literal["run", "copy"]
InstructionT = TypeVar("InstructionT", bound=Instruction)


@dataclass(frozen=True)
class CacheInputs:
    """What the layer cache asks of a step (kaniko's ``ShouldCacheOutput`` and
    ``FilesUsedFromContext``): whether its layer may come from the cache, and the (expanded)
    source patterns it reads from the build context, whose files its key covers, and the
    (expanded) ``--from`` stages or images it reads, whose content its key covers too, and what
    its sources from elsewhere are (an ADD git source's resolved commit)."""

    layer: LayerCacheKind | None = None
    context_sources: tuple[str, ...] | None = None
    from_refs: tuple[str, ...] = ()
    remote_sources: tuple[str, ...] = ()


class Command(ABC, Generic[InstructionT]):
    """One Dockerfile instruction, read from its typed instruction. Commands change config and
    files; the build loop owns history, snapshots and layers."""

    changes_files: ClassVar[bool] = False

    def __init__(self, instruction: InstructionT) -> None:
        self.instruction = instruction

    @abstractmethod
    def execute(self, ctx: StepContext) -> None:
        """Apply the instruction to ``ctx.state`` and, for file commands, to ``ctx.root``."""

    def cache_layer(self) -> LayerCacheKind | None:
        """Whether the step's layer may come from the cache, and under which option; None: never."""
        return None

    def cache_inputs(self, ctx: StepContext) -> CacheInputs:
        """What this step's cache key covers beyond the instruction, the config and the ARGs."""
        return CacheInputs(layer=self.cache_layer())

    def apply_cached(self, ctx: StepContext) -> None:
        """What the step still does when its layer comes from the cache: the changes to
        ``ctx.state`` that ``execute`` makes, never any to the files (the root may not even be
        extracted yet). RUN and COPY change no state; WORKDIR sets the working directory."""

    def created_by(self) -> str:
        """The history entry's ``created_by``, as kaniko writes it; with heredocs, the instruction as
        written, bodies and terminators included (the script BuildKit hands to the shell)."""
        if self.instruction.heredocs:
            return self.instruction.original.strip() + "".join(
                f"\n{doc.content}{doc.name}" for doc in self.instruction.heredocs)
        return " ".join(self.instruction.original.split()) if "\n" in self.instruction.original \
            else self.instruction.original.strip()

    def error(self, ctx: StepContext, message: str) -> DockerfileError:
        return DockerfileError(message, line=self.instruction.line, dockerfile=ctx.dockerfile_name)

    def where(self, ctx: StepContext) -> dict[str, Any]:
        """Keyword arguments that locate the lexer's errors at this instruction."""
        return {"escape": ctx.lexer.escape, "line": self.instruction.line, "dockerfile": ctx.dockerfile_name}

    def expand(self, ctx: StepContext, word: str) -> str:
        """``$VAR`` substitution and quote removal of one word, as BuildKit does it."""
        return ctx.lexer.process_word(word, ctx.state.expansion_env(), line=self.instruction.line,
                                      dockerfile=ctx.dockerfile_name)


class MetadataCommand(Command[InstructionT]):
    """Commands that change only the image config, never the filesystem."""

    changes_files = False
