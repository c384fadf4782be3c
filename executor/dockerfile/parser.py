"""Dockerfile text -> ``Dockerfile`` (directives, global ARGs, stages of ``Instruction``s).

Parsing is BuildKit's (``frontend/dockerfile/parser`` + ``instructions/parse.go``): keywords are
case-insensitive, flags are the leading ``--name[=value]`` words, an argument text that parses as a
JSON array of strings is the exec form (a JSON array holding anything else is an error), and
everything else is the shell form. Each instruction comes out typed (``typed.typed_instruction``:
``RunInstruction`` with its mounts, ``CopyInstruction`` with its flags, ...), its flag values checked.
Nothing is expanded here: ``$VAR`` substitution needs the build-time environment and is the build's
job (see ``ShellLexer`` and ``keyvalue``).
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from executor.dockerfile.errors import DockerfileError
from executor.dockerfile.flags import extract_flag_words, parse_flags
from executor.dockerfile.heredoc import HEREDOC_KEYWORDS, heredoc_markers
from executor.dockerfile.instructions import ArgInstruction, FromInstruction, Instruction
from executor.dockerfile.keyvalue import split_arg_pairs, split_key_values
from executor.dockerfile.lines import Directives, LogicalLine, SourceLines, logical_lines, read_directives
from executor.dockerfile.typed import typed_instruction
from executor.dockerfile.words import split_words

__all__ = ["Dockerfile", "Instruction", "Stage", "parse_dockerfile", "parse_instruction", "KEYWORDS"]

KEYWORDS = frozenset(
    {
        "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "FROM", "HEALTHCHECK", "LABEL",
        "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
    }
)  # fmt: skip

_WHITESPACE = re.compile(r"[\t\v\f\r ]+")
_STAGE_NAME = re.compile(r"^[a-z][a-z0-9\-_.]*\Z")
_ONBUILD_PREFIX = re.compile(r"^[\t\n\v\f\r ]*ONBUILD[\t\n\v\f\r ]*", re.IGNORECASE)
# Instructions whose shell form may instead be a JSON array (the exec form).
_JSON_FORM = frozenset({"ADD", "COPY", "VOLUME", "RUN", "CMD", "ENTRYPOINT", "SHELL"})
# Instructions whose shell form BuildKit splits on whitespace into separate raw words.
_WHITESPACE_LIST = frozenset({"ADD", "COPY", "VOLUME", "EXPOSE", "FROM"})


@dataclass(frozen=True)
class Stage:
    """A build stage: its FROM line and the instructions up to the next FROM."""

    index: int
    name: str | None  # from ``AS name``, lowercased
    base: str  # the FROM image as written, before ARG substitution
    platform: str | None  # --platform, as written
    line: int
    instructions: list[Instruction]
    from_instruction: FromInstruction


@dataclass(frozen=True)
class Dockerfile:
    name: str
    directives: Directives
    global_args: list[ArgInstruction]  # the ARGs before the first FROM
    stages: list[Stage]
    # instructions whose continuation skipped a blank line, by the line BuildKit reports
    empty_continuation_lines: tuple[int, ...] = ()
    text: str = field(default="", repr=False, compare=False)  # as read: build checks quote its lines

    @property
    def escape(self) -> str:
        return self.directives.escape

    def find_stage(self, ref: str) -> Stage | None:
        """The stage named ``ref`` (case-insensitive) or, if ``ref`` is a number, at that index: how
        ``COPY --from=`` and ``--target`` refer to stages (a --from must name an earlier stage; the
        caller compares ``stage.index``). None means ``ref`` is an image reference. Of two stages
        with one name (BuildKit's DuplicateStageName warning, not an error) the last one wins, as
        in BuildKit's ``statesByName``."""
        lowered = ref.lower()
        for stage in reversed(self.stages):
            if stage.name is not None and stage.name == lowered:
                return stage
        if ref.isascii() and ref.isdigit():
            index = int(ref)
            if index < len(self.stages):
                return self.stages[index]
        return None

    def earlier_stage(self, ref: str, current: int) -> Stage | None:
        """The stage ``ref`` names if it comes before stage ``current``: only such a stage can be
        a FROM or --from; otherwise (None) ``ref`` is an image reference. With a duplicate name,
        the latest stage before ``current`` (BuildKit resolves a FROM as its stage is added)."""
        lowered = ref.lower()
        for stage in reversed(self.stages[:current]):
            if stage.name is not None and stage.name == lowered:
                return stage
        if ref.isascii() and ref.isdigit() and int(ref) < min(current, len(self.stages)):
            return self.stages[int(ref)]
        return None


def parse_dockerfile(text: str, name: str = "Dockerfile") -> Dockerfile:
    """Parse and validate a whole Dockerfile; every error is a ``DockerfileError`` with its line."""
    lines = SourceLines(text)
    directives = read_directives(lines, name)
    instructions: list[Instruction] = []
    empty_continuations: list[int] = []
    for logical in logical_lines(lines, directives.escape, directives.count):
        instruction = _parse_logical(logical, directives.escape, name)
        if logical.empty_continuation:
            empty_continuations.append(logical.end_line)
        instructions.append(_read_heredocs(instruction, lines, name))
    if not instructions:
        raise DockerfileError("file with no instructions", max(1, lines.line_count), name)
    return replace(_assemble(instructions, directives, name), empty_continuation_lines=tuple(empty_continuations),
                   text=text)


def _read_heredocs(instruction: Instruction, lines: SourceLines, dockerfile: str) -> Instruction:
    """Take the bodies of the heredocs ``instruction`` announces from the lines that follow it."""
    target = instruction.trigger or instruction  # ONBUILD RUN <<EOF reads its body too
    if target.keyword not in HEREDOC_KEYWORDS or target.json is not None:
        return instruction
    markers = heredoc_markers(instruction.original)
    if not markers:
        return instruction
    docs = []
    for marker in markers:
        body: list[str] = []
        while True:
            if lines.at_end():
                raise DockerfileError(f"unterminated heredoc <<{marker.name}: no line {marker.name!r} "
                                      "before the end of the file", instruction.line, dockerfile)
            raw = lines.next_line()
            candidate = raw.lstrip("\t") if marker.chomp else raw
            if candidate == marker.name:
                break
            body.append(raw + "\n")
        docs.append(replace(marker, content="".join(body)))
    if instruction.trigger is not None:
        trigger = replace(instruction.trigger, heredocs=tuple(docs), end_line=lines.current_line)
        return replace(instruction, trigger=trigger, heredocs=tuple(docs), end_line=lines.current_line)
    return replace(instruction, heredocs=tuple(docs), end_line=lines.current_line)


def parse_instruction(
    text: str, *, line: int = 1, end_line: int | None = None, escape: str = "\\", dockerfile: str = "Dockerfile"
) -> Instruction:
    """Parse one logical line (e.g. an ONBUILD trigger from a base image's config)."""
    return _parse_logical(LogicalLine(text, line, end_line or line), escape, dockerfile)


def _assemble(instructions: list[Instruction], directives: Directives, name: str) -> Dockerfile:
    global_args: list[ArgInstruction] = []
    stages: list[Stage] = []
    current: list[Instruction] | None = None
    for ins in instructions:
        if isinstance(ins, FromInstruction):
            # a name used twice is BuildKit's DuplicateStageName warning (checks), not an error
            stage_name = _stage_name(ins, name)
            current = []
            stages.append(
                Stage(
                    index=len(stages),
                    name=stage_name,
                    base=ins.image,
                    platform=ins.platform,
                    line=ins.line,
                    instructions=current,
                    from_instruction=ins,
                )
            )
        elif current is None:
            if not isinstance(ins, ArgInstruction):
                raise DockerfileError(
                    f"no build stage in current context: {ins.keyword} before the first FROM"
                    " (only ARG may come before FROM)",
                    ins.line,
                    name,
                )
            global_args.append(ins)
        else:
            current.append(ins)
    if not stages:
        last = instructions[-1]
        raise DockerfileError("dockerfile contains no stages to build: no FROM instruction", last.line, name)
    return Dockerfile(name=name, directives=directives, global_args=global_args, stages=stages)


def _stage_name(ins: Instruction, dockerfile: str) -> str | None:
    words = ins.words
    if len(words) == 3 and words[1].lower() == "as":
        lowered = words[2].lower()
        if not _STAGE_NAME.match(lowered):
            raise DockerfileError(
                f"invalid name for build stage: {words[2]!r}, name can't start with a number or contain symbols",
                ins.line,
                dockerfile,
            )
        return lowered
    if len(words) != 1:
        raise DockerfileError(
            "FROM requires either one or three arguments (FROM <image> [AS <name>])", ins.line, dockerfile
        )
    return None


def _split_command(text: str) -> tuple[str, str, list[str]]:
    parts = _WHITESPACE.split(text.strip(), maxsplit=1)
    if len(parts) < 2:
        return parts[0], "", []
    rest, flag_words = extract_flag_words(parts[1])
    return parts[0], rest.strip(), flag_words


def _parse_json_array(args: str, keyword: str, line: int, dockerfile: str) -> list[str] | None:
    if not args.startswith("["):
        return None

    def reject_constant(name: str) -> object:
        raise ValueError(name)  # Go's JSON has no NaN/Infinity

    try:
        parsed = json.loads(args, parse_constant=reject_constant)
    except ValueError:
        return None  # not JSON: the shell form
    if not isinstance(parsed, list):
        return None
    if not all(isinstance(item, str) for item in parsed):
        raise DockerfileError(
            f"{keyword}: when using JSON array syntax, arrays must be comprised of strings only", line, dockerfile
        )
    return parsed


def _parse_logical(logical: LogicalLine, escape: str, dockerfile: str) -> Instruction:
    written, args, flag_words = _split_command(logical.text)
    keyword = written.upper()
    line = logical.line

    def fail(message: str) -> DockerfileError:
        return DockerfileError(message, line, dockerfile)

    if keyword not in KEYWORDS:
        close = difflib.get_close_matches(keyword, sorted(KEYWORDS), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise fail(f"unknown instruction: {written}{hint}")

    json_form = _parse_json_array(args, keyword, line, dockerfile) if keyword in _JSON_FORM else None
    words, trigger, json_form = _words_for(keyword, args, json_form, escape, logical, dockerfile)

    _check_arguments(keyword, words, json_form, fail)
    if keyword == "HEALTHCHECK" and words and words[0].upper() == "NONE":
        flags: dict[str, list[str]] = {}  # BuildKit does not look at flags of HEALTHCHECK NONE
    else:
        flags = parse_flags(keyword, flag_words, line=line, dockerfile=dockerfile)
    if keyword == "ONBUILD":
        args = _ONBUILD_PREFIX.sub("", logical.text)
    base = Instruction(
        keyword=keyword,
        line=line,
        end_line=logical.end_line,
        original=logical.text,
        flags=flags,
        args=args,
        json=json_form,
        words=words,
        trigger=trigger,
        comments=logical.comments,
    )
    return typed_instruction(base, escape=escape, dockerfile=dockerfile)


def _words_for(
    keyword: str, args: str, json_form: list[str] | None, escape: str, logical: LogicalLine, dockerfile: str
) -> tuple[list[str], Instruction | None, list[str] | None]:
    line = logical.line
    if json_form is not None:
        return list(json_form), None, json_form
    if keyword in _WHITESPACE_LIST:
        return ([w for w in _WHITESPACE.split(args) if w] if args else []), None, None
    if keyword in ("ENV", "LABEL"):
        pairs = split_key_values(args, keyword, escape=escape, line=line, dockerfile=dockerfile)
        return [part for pair in pairs for part in pair], None, None
    if keyword == "ARG":
        split_arg_pairs(args, escape=escape, line=line, dockerfile=dockerfile)  # validates
        return split_words(args, escape), None, None
    if keyword == "HEALTHCHECK":
        kind, rest = _split_first_word(args)
        if not kind:
            return [], None, None
        command_json = _parse_json_array(rest, keyword, line, dockerfile)
        if command_json is not None:
            return [kind, *command_json], None, command_json
        return [kind, rest] if rest else [kind], None, None
    if keyword == "ONBUILD":
        if not args:
            return [], None, None
        _check_trigger(args, line, dockerfile)
        trigger = _parse_logical(LogicalLine(args, line, logical.end_line), escape, dockerfile)
        return [trigger.keyword, *trigger.words], trigger, None
    return ([args] if args else []), None, None


def _split_first_word(text: str) -> tuple[str, str]:
    parts = re.split(r"\s+", text, maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _check_trigger(args: str, line: int, dockerfile: str) -> None:
    first = _WHITESPACE.split(args.strip(), maxsplit=1)[0].upper()
    if first == "ONBUILD":
        raise DockerfileError("Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", line, dockerfile)
    if first in ("MAINTAINER", "FROM"):
        raise DockerfileError(f"{first} isn't allowed as an ONBUILD trigger", line, dockerfile)


def _check_arguments(
    keyword: str, words: list[str], json_form: list[str] | None, fail: Callable[[str], DockerfileError]
) -> None:
    if keyword in ("ADD", "COPY") and len(words) < 2:
        raise fail(
            f"{keyword} requires at least two arguments, but only {len(words)} provided."
            " Destination could not be determined"
        )
    if keyword in ("EXPOSE", "VOLUME", "ONBUILD", "HEALTHCHECK") and not words:
        raise fail(f"{keyword} requires at least one argument")
    if keyword == "VOLUME" and any(not w.strip() for w in words):
        raise fail("VOLUME specified can not be an empty string")
    if keyword in ("USER", "WORKDIR", "STOPSIGNAL", "MAINTAINER") and len(words) != 1:
        raise fail(f"{keyword} requires exactly one argument")
    if keyword == "FROM" and not words:
        raise fail("FROM requires either one or three arguments (FROM <image> [AS <name>])")
    if keyword == "SHELL":
        if json_form is None:
            raise fail('SHELL requires the arguments to be in JSON form, e.g. SHELL ["/bin/sh", "-c"]')
        if not json_form:
            raise fail("SHELL requires at least one argument")

