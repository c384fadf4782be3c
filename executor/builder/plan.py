"""Which stages of a multi-stage Dockerfile to build, in what order, and whose files to keep."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from executor.dockerfile import CopyInstruction, Dockerfile, RunInstruction, ShellLexer, Stage
from executor.dockerfile.args import global_scope
from executor.errors import DockerfileError, UsageError


def stage_refs(stage: Stage) -> list[tuple[str, int]]:
    """(--from value, line) of every COPY --from / RUN --mount from= in the stage, unexpanded."""
    refs = []
    for instruction in stage.instructions:
        if isinstance(instruction, CopyInstruction) and instruction.from_ is not None:
            refs.append((instruction.from_, instruction.line))
        if isinstance(instruction, RunInstruction):
            refs.extend((mount.from_, instruction.line) for mount in instruction.mounts
                        if mount.from_ is not None)
    return refs


@dataclass(frozen=True)
class StagePlan:
    """The stages to build, in order, and which of them later stages read files from."""

    order: tuple[int, ...]
    keep_files: frozenset[int]
    target: int


def plan_stages(dockerfile: Dockerfile, target: str | None, skip_unused: bool,
                expand: Callable[[str], str], replaced: Callable[[str], bool] = lambda ref: False
                ) -> StagePlan:
    """BuildKit's rule (``skip_unused``, the default): the target and the stages it depends on; else
    kaniko v1's, every stage up to the target. ``expand`` substitutes global ARGs in FROM and --from
    values. A name ``replaced`` says is a ``--build-context``: a stage of that name is never built
    (BuildKit: the named context overrides the stage) and reading it depends on no stage."""
    if target is None:
        target_index = len(dockerfile.stages) - 1
    else:
        found = dockerfile.find_stage(target)
        if found is None:
            raise UsageError(f"--target {target!r}: no such stage in {dockerfile.name}")
        target_index = found.index

    def file_deps(stage: Stage) -> set[int]:
        """Earlier stages whose files this stage reads (COPY --from, RUN --mount from=)."""
        deps = set()
        for ref, line in stage_refs(stage):
            if replaced(expand(ref)):
                continue
            found = dockerfile.find_stage(expand(ref))
            if found is not None:
                if found.index >= stage.index:
                    raise DockerfileError(f"--from={ref}: stage {found.index} is not an earlier stage",
                                          line=line, dockerfile=dockerfile.name)
                deps.add(found.index)
        return deps

    def base_dep(stage: Stage) -> set[int]:
        """The earlier stage this stage is built FROM: its image is needed, not its files."""
        if replaced(expand(stage.base)):
            return set()
        base = dockerfile.earlier_stage(expand(stage.base), stage.index)
        return {base.index} if base is not None else set()

    _refuse_base_cycles(dockerfile, expand)
    stages = dockerfile.stages[: target_index + 1]
    reads_files = {stage.index: file_deps(stage) for stage in stages}
    deps = {stage.index: reads_files[stage.index] | base_dep(stage) for stage in stages}
    if skip_unused:
        needed, todo = set(), [target_index]
        while todo:
            index = todo.pop()
            if index not in needed:
                needed.add(index)
                todo.extend(deps[index])
        order = tuple(sorted(needed))
    else:
        order = tuple(range(target_index + 1))
    covered = {stage.index for stage in stages if stage.name and replaced(stage.name)}
    if target_index in covered:
        raise UsageError(f"the target stage {dockerfile.stages[target_index].name!r} is replaced by "
                         "--build-context: there is nothing to build")
    order = tuple(index for index in order if index not in covered)
    # Only --from readers need a stage's root kept; FROM <stage> extracts the stage's image.
    keep = frozenset(ref for index in order for ref in reads_files[index])
    return StagePlan(order=order, keep_files=keep, target=target_index)


def _refuse_base_cycles(dockerfile: Dockerfile, expand: Callable[[str], str]) -> None:
    """A FROM naming a stage defined later is an image reference (docker 20.10's rule), except
    where following the FROMs from that stage comes back: ``FROM b AS a`` ... ``FROM a AS b``
    is a cycle, refused with its lines instead of a pull of an image no one meant."""
    for stage in dockerfile.stages:
        path, current = [stage], dockerfile.find_stage(expand(stage.base))
        if current is None or current.index <= stage.index:
            continue
        while current is not None and current not in path:
            path.append(current)
            current = dockerfile.find_stage(expand(current.base))
        if current is stage:
            chain = " -> ".join(f"{s.name or s.index} (line {s.line})" for s in [*path, stage])
            raise DockerfileError(f"circular dependency between stages: {chain}", line=stage.line,
                                  dockerfile=dockerfile.name)


def make_expander(lexer: ShellLexer, global_args: Mapping[str, str | None], dockerfile: Dockerfile
                  ) -> Callable[[str], str]:
    scope = global_scope(global_args)

    def expand(word: str) -> str:
        return lexer.process_word(word, scope, dockerfile=dockerfile.name)

    return expand
