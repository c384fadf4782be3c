"""The checks BuildKit makes while parsing, on every stage whatever the target: empty continuation
lines, MAINTAINER, a FROM's stage name and ``AS`` casing, description comments (experimental),
stage names reserved or used twice, and keyword casing against the file's majority
(``instructions/parse.go``, ``dockerfile2llb/validations.go``)."""

from __future__ import annotations

from executor.dockerfile.checks import rules
from executor.dockerfile.checks.linter import Linter
from executor.dockerfile.instructions import ArgInstruction, FromInstruction, Instruction
from executor.dockerfile.parser import Dockerfile

__all__ = ["check_source"]

_RESERVED_STAGE_NAMES = frozenset({"context", "scratch"})


def check_source(dockerfile: Dockerfile, lint: Linter) -> None:
    for line in dockerfile.empty_continuation_lines:
        lint.run(rules.NO_EMPTY_CONTINUATION, "Empty continuation line", line)
    for instruction in _in_file_order(dockerfile):
        _check_instruction(instruction, lint)
    _check_stage_names(dockerfile, lint)
    _check_casing(dockerfile, lint)


def _in_file_order(dockerfile: Dockerfile) -> list[Instruction]:
    found: list[Instruction] = list(dockerfile.global_args)
    for stage in dockerfile.stages:
        found += [stage.from_instruction, *stage.instructions]
    return found


def _check_instruction(instruction: Instruction, lint: Linter) -> None:
    if instruction.keyword == "MAINTAINER":
        lint.at(rules.MAINTAINER_DEPRECATED, "Maintainer instruction is deprecated in favor of using label",
                instruction)
    elif isinstance(instruction, FromInstruction):
        words = instruction.words
        if len(words) == 3 and words[2] != words[2].lower():
            lint.at(rules.STAGE_NAME_CASING, rules.stage_name_casing(words[2]), instruction)
        written = instruction.written_keyword
        # a FROM of mixed casing is ConsistentInstructionCasing's, not this rule's
        if len(words) >= 3 and written in (written.lower(), written.upper()):
            wanted = words[1].lower() if written == written.lower() else words[1].upper()
            if words[1] != wanted:
                lint.at(rules.FROM_AS_CASING, rules.from_as_casing(written, words[1]), instruction)
        if len(words) == 3:
            _check_description(instruction, "FROM", [words[2].lower()], lint)
    elif isinstance(instruction, ArgInstruction):
        _check_description(instruction, "ARG", [name for name, _ in instruction.pairs], lint)


def _check_description(instruction: Instruction, keyword: str, names: list[str], lint: Linter) -> None:
    """InvalidDefinitionDescription: the comment right above a stage or ARG should start with its name."""
    if not instruction.comments or not names:
        return
    if instruction.comments[-1].split(" ")[0] in names:
        return
    example = names[0] if len(names) == 1 else "<arg_key>"
    lint.at(rules.INVALID_DEFINITION_DESCRIPTION, rules.invalid_definition_description(keyword, example),
            instruction)


def _check_stage_names(dockerfile: Dockerfile, lint: Linter) -> None:
    seen: set[str] = set()
    for stage in dockerfile.stages:
        if stage.name is None:
            continue
        where = stage.from_instruction
        if stage.name in _RESERVED_STAGE_NAMES:
            lint.run(rules.RESERVED_STAGE_NAME, rules.reserved_stage_name(stage.name), where.line, where.end_line)
        if stage.name in seen:
            lint.run(rules.DUPLICATE_STAGE_NAME, rules.duplicate_stage_name(stage.name), where.line,
                     where.end_line)
        seen.add(stage.name)


def _check_casing(dockerfile: Dockerfile, lint: Linter) -> None:
    """ConsistentInstructionCasing: the stages' instructions (not the ARGs before the first FROM)
    vote lower or upper case; each keyword not in the winning casing is reported."""
    written = [instruction for stage in dockerfile.stages
               for instruction in (stage.from_instruction, *stage.instructions)]
    lower = sum(1 for i in written if i.written_keyword == i.written_keyword.lower())
    upper = sum(1 for i in written if i.written_keyword != i.written_keyword.lower()
                and i.written_keyword == i.written_keyword.upper())
    majority_lower = lower > upper
    for instruction in written:
        keyword = instruction.written_keyword
        if majority_lower and keyword != keyword.lower():
            casing = "lowercase"
        elif not majority_lower and keyword != keyword.upper():
            casing = "uppercase"
        else:
            continue
        lint.run(rules.CONSISTENT_INSTRUCTION_CASING, rules.consistent_instruction_casing(keyword, casing),
                 instruction.line, instruction.end_line)
