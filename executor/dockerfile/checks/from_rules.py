"""The checks on FROM lines, which see only the global scope (the ARGs before the first FROM, on
top of the automatic platform ARGs): ARGs used but never declared, a default that leaves the image
name empty or invalid, and ``--platform`` set to a constant or to ``$TARGETPLATFORM``
(``dockerfile2llb``'s ``buildDispatchStates`` and ``validateBaseImagesWithDefaultArgs``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from executor.dockerfile.checks import rules
from executor.dockerfile.checks.expansion import RecordingEnv, suggest
from executor.dockerfile.checks.linter import Linter
from executor.dockerfile.checks.names import parse_platform, valid_image_name
from executor.dockerfile.errors import DockerfileError, ShellExpansionError
from executor.dockerfile.parser import Dockerfile, Stage
from executor.dockerfile.shell_lexer import ShellLexer

__all__ = ["GlobalScope", "check_from_lines", "global_scope"]


@dataclass(frozen=True)
class GlobalScope:
    values: dict[str, str]  # what FROM expands with, automatic ARGs first
    declared: tuple[str, ...]  # every ARG name before the first FROM, with a value or not


def global_scope(dockerfile: Dockerfile, build_args: Mapping[str, str], automatic: Mapping[str, str]
                 ) -> GlobalScope:
    """BuildKit's ``buildMetaArgs``: each global ARG takes its --build-arg, else its default
    expanded with what came before. Raises ``ShellExpansionError`` as the build would."""
    lexer = ShellLexer(dockerfile.escape)
    values = {name: build_args.get(name, value) for name, value in automatic.items()}
    declared: list[str] = []
    for instruction in dockerfile.global_args:
        for name, default in instruction.pairs:
            value = build_args.get(name)
            if value is None and default is not None:
                value = lexer.process_word(default, values, line=instruction.line, dockerfile=dockerfile.name)
            if value is not None:
                values[name] = value
            if name not in declared:
                declared.append(name)
    return GlobalScope(values, tuple(declared))


def check_from_lines(dockerfile: Dockerfile, build_args: Mapping[str, str], automatic: Mapping[str, str],
                     lint: Linter) -> tuple[list[str], GlobalScope]:
    """Run the FROM checks; the base name each stage expands to, and the global scope. A FROM
    that cannot be expanded raises ``DockerfileError`` (BuildKit stops there too)."""
    lexer = ShellLexer(dockerfile.escape)
    try:
        defaults = global_scope(dockerfile, {}, {k: build_args.get(k, v) for k, v in automatic.items()})
        _check_default_bases(dockerfile, lexer, defaults, lint)
        scope = global_scope(dockerfile, build_args, automatic)
    except ShellExpansionError as error:
        raise error.at(error.line, dockerfile.name) from None
    bases = []
    for stage in dockerfile.stages:
        bases.append(_check_stage(dockerfile, stage, lexer, scope, lint))
    return bases, scope


def _check_default_bases(dockerfile: Dockerfile, lexer: ShellLexer, defaults: GlobalScope, lint: Linter) -> None:
    """InvalidDefaultArgInFrom: each FROM still names an image when no --build-arg is given."""
    for stage in dockerfile.stages:
        try:
            name = lexer.process_word(stage.base, defaults.values)
        except ShellExpansionError:
            return  # the real expansion fails later, with its own error
        if not valid_image_name(name):
            where = stage.from_instruction
            lint.run(rules.INVALID_DEFAULT_ARG_IN_FROM, rules.invalid_default_arg_in_from(stage.base), where.line,
                     where.end_line)


def _check_stage(dockerfile: Dockerfile, stage: Stage, lexer: ShellLexer, scope: GlobalScope, lint: Linter) -> str:
    where = stage.from_instruction
    config = lint.config.with_comments(where.comments)
    known = {*scope.declared, *scope.values}

    def undeclared(env: RecordingEnv) -> None:
        for name in env.unmatched:
            if name not in known:
                lint.run(rules.UNDEFINED_ARG_IN_FROM, rules.undefined_arg_in_from(name, suggest(name, sorted(known))),
                         where.line, where.end_line, config=config)

    def expand(word: str) -> tuple[str, RecordingEnv]:
        env = RecordingEnv(scope.values)
        try:
            result = lexer.process_word(word, env, line=stage.line, dockerfile=dockerfile.name)
        except ShellExpansionError as error:
            undeclared(env)
            raise error.at(stage.line, dockerfile.name) from None
        undeclared(env)
        return result, env

    base, _ = expand(stage.base)
    if base == "":
        raise DockerfileError(f"base name ({stage.base}) should not be blank", stage.line, dockerfile.name)
    if stage.platform:
        platform, env = expand(stage.platform)
        if (list(env.matched) == ["TARGETPLATFORM"] and not env.unmatched
                and platform == scope.values.get("TARGETPLATFORM")):
            lint.run(rules.REDUNDANT_TARGET_PLATFORM, rules.redundant_target_platform(stage.platform), where.line,
                     where.end_line, config=config)
        parsed = parse_platform(platform)
        if not env.matched and not env.unmatched and parsed is not None:
            name = stage.name or ""
            if parsed[0] not in name and parsed[1] not in name:
                lint.run(rules.FROM_PLATFORM_FLAG_CONST_DISALLOWED,
                         rules.from_platform_flag_const_disallowed(platform), where.line, where.end_line,
                         config=config)
        if platform == "":
            hint = next((s for s in (suggest(n, scope.values) for n in env.unmatched) if s), "")
            raise DockerfileError(f"empty platform value from expression {stage.platform}"
                                  + (f" (did you mean {hint}?)" if hint else ""), stage.line, dockerfile.name)
    return base
