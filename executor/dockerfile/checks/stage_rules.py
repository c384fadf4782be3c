"""The checks BuildKit makes while it dispatches a stage's instructions, with the stage's scope in
hand: variables used before they are defined (UndefinedVar), secrets in ARG/ENV names, the legacy
``ENV key value`` form, a relative first WORKDIR, shell-form CMD/ENTRYPOINT, a CMD, ENTRYPOINT or
HEALTHCHECK overridden in the same stage, COPY/ADD of a .dockerignore'd path, and EXPOSE's port
forms (``dockerfile2llb/convert.go`` ``dispatch*``, ``validations.go``).

The scope is BuildKit's: the base image's Env (PATH always set), then ENV and ARG values as the
stage goes, ARGs declared without a value counted as defined; a stage built FROM an earlier stage
starts with that stage's scope. An image's Env is known only when ``base_config`` gives it (the
checks pull nothing); where it is not, a variable the image might define is not reported unless
it is a near miss of a name the Dockerfile defines ("did you mean") or is defined later in the
stage: what is reported then is as certain as with the image's config.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field, replace

from executor.dockerfile.checks import rules
from executor.dockerfile.checks.config import CheckConfig
from executor.dockerfile.checks.expansion import RecordingEnv, suggest
from executor.dockerfile.checks.linter import Linter
from executor.dockerfile.dockerignore import DockerIgnore, go_clean_path
from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.heredoc import heredoc_marker
from executor.dockerfile.instructions import (
    AddInstruction,
    ArgInstruction,
    CopyInstruction,
    ExposeInstruction,
    Instruction,
    KeyValueInstruction,
    RunInstruction,
    ValueInstruction,
    VolumeInstruction,
)
from executor.dockerfile.parser import Dockerfile, Stage
from executor.dockerfile.shell_lexer import ShellLexer
from executor.dockerfile.words import split_words

__all__ = ["BaseImageConfig", "check_stages"]

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# ARGs BuildKit keeps out of the environment (SBOM scanning switches)
_NON_ENV_ARGS = frozenset({"BUILDKIT_SBOM_SCAN_CONTEXT", "BUILDKIT_SBOM_SCAN_STAGE"})
_SECRET = re.compile(r"(?:_|^)(?:apikey|auth|credential|credentials|key|password|pword|passwd|secret|token)(?:_|$)",
                     re.IGNORECASE)
_NOT_SECRET = re.compile(r"(?:_|^)(?:public|file|version)(?:_|$)", re.IGNORECASE)
_RAW_HEREDOC = ShellLexer("\\", skip_process_quotes=True)


@dataclass(frozen=True)
class BaseImageConfig:
    """What the checks need of a base image's config: its Env (``K=V``) and Shell."""

    env: tuple[str, ...] = ()
    shell: tuple[str, ...] = ()


@dataclass
class _Scope:
    env: dict[str, str]
    known: bool  # False: the base image's Env is unknown
    shell: bool = False  # a SHELL is set (the image's or an instruction's)
    workdir_set: bool = False  # a WORKDIR was given in this build (not the image's)
    args: list[str] = field(default_factory=list)  # ARG names declared in the stage (and its base stages)
    defined: set[str] = field(default_factory=set)  # what the Dockerfile's ARGs and ENVs set, not the image

    def copy(self) -> _Scope:
        return replace(self, env=dict(self.env), args=list(self.args), defined=set(self.defined))


@dataclass(frozen=True)
class _Context:
    dockerfile: Dockerfile
    lint: Linter
    lexer: ShellLexer
    global_values: Mapping[str, str]
    build_args: Mapping[str, str]
    ignore: DockerIgnore | None


def check_stages(dockerfile: Dockerfile, bases: list[str], lint: Linter, *, global_values: Mapping[str, str],
                 build_args: Mapping[str, str], ignore: DockerIgnore | None, stages: Collection[int] | None,
                 base_config: Callable[[str], BaseImageConfig | None]) -> None:
    """Dispatch ``stages`` (all when None) in order; ``bases`` are the expanded FROM names."""
    ctx = _Context(dockerfile, lint, ShellLexer(dockerfile.escape), global_values, build_args, ignore)
    finished: dict[int, _Scope] = {}
    for stage in dockerfile.stages:
        if stage.index >= len(bases) or (stages is not None and stage.index not in stages):
            continue
        scope = _starting_scope(dockerfile, stage, bases[stage.index], finished, base_config)
        try:
            _dispatch(ctx, stage, scope)
        except DockerfileError:
            continue  # an expansion the build itself will refuse, with its own error
        finished[stage.index] = scope


def _starting_scope(dockerfile: Dockerfile, stage: Stage, base: str, finished: Mapping[int, _Scope],
                    base_config: Callable[[str], BaseImageConfig | None]) -> _Scope:
    earlier = dockerfile.earlier_stage(base, stage.index)
    if earlier is not None:
        if earlier.index in finished:
            return finished[earlier.index].copy()
        return _Scope(env={"PATH": DEFAULT_PATH}, known=False)
    if base.lower() == "scratch":
        return _Scope(env={"PATH": DEFAULT_PATH}, known=True)
    config = base_config(base)
    if config is None:
        return _Scope(env={"PATH": DEFAULT_PATH}, known=False)
    env = dict(item.partition("=")[::2] for item in config.env)
    env.setdefault("PATH", DEFAULT_PATH)
    return _Scope(env=env, known=True, shell=bool(config.shell))


def _defined_later(instructions: list[Instruction], position: int) -> set[str]:
    names: set[str] = set()
    for later in instructions[position + 1:]:
        if isinstance(later, (ArgInstruction, KeyValueInstruction)) and later.keyword != "LABEL":
            names.update(name for name, _ in later.pairs)
    return names


def _dispatch(ctx: _Context, stage: Stage, scope: _Scope) -> None:
    used_once: dict[str, Instruction] = {}  # CMD, ENTRYPOINT, HEALTHCHECK: the last one seen
    for position, instruction in enumerate(stage.instructions):
        config = ctx.lint.config.with_comments(instruction.comments)
        later = _defined_later(stage.instructions, position) if not scope.known else set()
        step = _Step(ctx, instruction, scope, config, later)
        step.dispatch(used_once)


@dataclass
class _Step:
    """One instruction dispatched against the scope."""

    ctx: _Context
    instruction: Instruction
    scope: _Scope
    config: CheckConfig
    defined_later: set[str]

    def warn(self, rule: rules.Rule, message: str, where: Instruction | None = None) -> None:
        at = where or self.instruction
        self.ctx.lint.run(rule, message, at.line, at.end_line, config=self.config)

    def expand(self, word: str, lexer: ShellLexer | None = None) -> str:
        """``word`` expanded with the scope; what it used that is not defined is reported."""
        env = RecordingEnv(self.scope.env)
        result = (lexer or self.ctx.lexer).process_word(word, env, line=self.instruction.line,
                                                       dockerfile=self.ctx.dockerfile.name)
        self.report_undefined(env.unmatched)
        return result

    def report_undefined(self, names: Collection[str]) -> None:
        for name in names:
            if name in self.scope.args or name in _NON_ENV_ARGS:
                continue
            hint = suggest(name, self.scope.env)
            if not self.scope.known and hint not in self.scope.defined and name not in self.defined_later:
                continue  # the base image may define it (GOPATH is no typo of PATH in a golang image)
            self.warn(rules.UNDEFINED_VAR, rules.undefined_var(name, hint))

    def dispatch(self, used_once: dict[str, Instruction]) -> None:
        ins = self.instruction
        keyword = ins.keyword
        if isinstance(ins, ArgInstruction):
            self.arg(ins)
        elif isinstance(ins, KeyValueInstruction):
            self.key_values(ins)
        elif isinstance(ins, RunInstruction):
            for mount in ins.mounts:
                for _, value in mount.fields:
                    if value is not None:
                        self.expand(value)
        elif isinstance(ins, CopyInstruction):
            self.copy(ins)
        elif isinstance(ins, ValueInstruction) and keyword in ("WORKDIR", "USER", "STOPSIGNAL"):
            value = self.expand(ins.value)
            if keyword == "WORKDIR":
                if not self.scope.workdir_set and not value.startswith("/"):
                    self.warn(rules.WORKDIR_RELATIVE_PATH, rules.workdir_relative_path(value))
                self.scope.workdir_set = True
        elif isinstance(ins, VolumeInstruction):
            for path in ins.paths:
                self.expand(path)
        elif isinstance(ins, ExposeInstruction):
            self.expose(ins)
        elif keyword == "SHELL":
            self.scope.shell = True
        if keyword in ("CMD", "ENTRYPOINT", "HEALTHCHECK"):
            if keyword in used_once:  # the earlier one is the one that will not count
                self.warn(rules.MULTIPLE_INSTRUCTIONS_DISALLOWED,
                          rules.multiple_instructions_disallowed(ins.written_keyword), used_once[keyword])
            used_once[keyword] = ins
            if keyword != "HEALTHCHECK" and ins.json is None and not self.scope.shell:
                self.warn(rules.JSON_ARGS_RECOMMENDED, rules.json_args_recommended(ins.written_keyword))

    def arg(self, ins: ArgInstruction) -> None:
        for name, default in ins.pairs:
            if _SECRET.search(name) and not _NOT_SECRET.search(name):
                self.warn(rules.SECRETS_USED_IN_ARG_OR_ENV, rules.secrets_used_in_arg_or_env("ARG", name))
            value: str | None = self.ctx.build_args.get(name)
            if value is None and default is not None:
                value = self.expand(default)
            elif value is None:
                value = self.ctx.global_values.get(name)
            if value is not None and name not in _NON_ENV_ARGS:
                self.scope.env[name] = value
                self.scope.defined.add(name)
            self.scope.args.append(name)

    def key_values(self, ins: KeyValueInstruction) -> None:
        legacy = "=" not in split_words(ins.args, self.ctx.dockerfile.escape)[0]
        expanded = [(self.expand(key), self.expand(value)) for key, value in ins.pairs]
        for key, value in expanded:
            if legacy:
                self.warn(rules.LEGACY_KEY_VALUE_FORMAT, rules.legacy_key_value_format(ins.written_keyword))
            if ins.keyword == "ENV":
                if _SECRET.search(key) and not _NOT_SECRET.search(key):
                    self.warn(rules.SECRETS_USED_IN_ARG_OR_ENV, rules.secrets_used_in_arg_or_env("ENV", key))
                self.scope.env[key] = value
                self.scope.defined.add(key)

    def copy(self, ins: CopyInstruction) -> None:
        for flag in (ins.chown, ins.chmod, ins.checksum if isinstance(ins, AddInstruction) else None):
            if flag is not None:
                self.expand(flag)
        heredocs = {doc.name: doc for doc in ins.heredocs}
        sources = []
        for raw in ins.sources:
            marker = heredoc_marker(raw) if heredocs else None
            if marker is not None and marker.name in heredocs:
                continue
            sources.append(self.expand(raw))
        self.expand(ins.dest)
        for doc in ins.heredocs:
            if doc.expand:
                self.expand(doc.body(), _RAW_HEREDOC)
        if ins.from_ is None:
            for source in sources:
                self.ignored_source(source, "Add" if isinstance(ins, AddInstruction) else "Copy")

    def ignored_source(self, source: str, command: str) -> None:
        """CopyIgnoredFile, only where it is certain: a .dockerignore without ``!`` exceptions."""
        ignore = self.ctx.ignore
        if ignore is None or not ignore.patterns or ignore.has_exceptions:
            return
        if command == "Add" and ("://" in source or source.startswith("git@")):
            return
        path = go_clean_path(source)
        if path in (".", "/") and not any(p.text in ("*", "**", "**/*") for p in ignore.patterns):
            return  # the context root, unless everything in it is ignored
        if any(pattern.matches_or_parent_matches(path) for pattern in ignore.patterns):
            self.warn(rules.COPY_IGNORED_FILE, rules.copy_ignored_file(command, path))

    def expose(self, ins: ExposeInstruction) -> None:
        ports: list[str] = []
        for word in ins.ports:
            ports += self.ctx.lexer.process_words(word, self.scope.env, line=ins.line,
                                                  dockerfile=self.ctx.dockerfile.name)
        for port in ports:
            parts = port.split(":")
            ip = host = ""
            if len(parts) == 2:
                host = parts[0]
            elif len(parts) > 2:
                # [ip:]host:container, the IP possibly an IPv6 address with colons of its own
                ip, host = ":".join(parts[:-2]), parts[-2]
            number, _, proto = parts[-1].partition("/")
            if not number or proto.lower() not in ("", "tcp", "udp", "sctp"):
                return  # an invalid port: the build refuses it before it looks at the casing
            if proto != proto.lower():
                self.warn(rules.EXPOSE_PROTO_CASING, rules.expose_proto_casing(port))
            if ip or host:
                self.warn(rules.EXPOSE_INVALID_FORMAT, rules.expose_invalid_format(port))
