"""The platforms of a build: for each target platform (``--custom-platform`` / ``--platform``, one
or several), the stages to build, the platform each stage runs as, and which stages come out the
same for every target and so are built once and shared.

A stage runs as its ``FROM --platform=`` (expanded with the global ARGs, so
``$BUILDPLATFORM`` is this machine's and ``$TARGETPLATFORM`` the target's), else as the stage it
is built FROM, else as the target. Two targets build the same stage when it runs as the same
platform, on the same base, reads the same stages and images, and sees the same values for the
ARGs it declares: a ``FROM --platform=$BUILDPLATFORM`` tools stage that never says ``ARG
TARGETARCH`` is the same for linux/amd64 and linux/arm64, and is built once (same digest)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from executor.builder.plan import StagePlan, make_expander, plan_stages, stage_refs
from executor.contexts.named import context_name
from executor.dockerfile import ArgInstruction, Dockerfile, RunInstruction, ShellLexer, Stage
from executor.dockerfile.args import global_arg_values
from executor.errors import DockerfileError
from executor.image import Platform
from executor.options import SourceOptions

__all__ = ["TargetPlan", "run_platforms", "plan_targets"]


@dataclass(frozen=True)
class TargetPlan:
    """One target platform of a build: its global ARGs (TARGET* its own), its stage plan, the
    platform each stage runs as, and each stage's identity (equal across targets: built once)."""

    target: Platform
    global_args: Mapping[str, str | None]
    stages: StagePlan
    platforms: Mapping[int, Platform]
    keys: Mapping[int, str]

    @property
    def slug(self) -> str:
        """The target as a file name: ``linux-arm64-v8``."""
        return str(self.target).replace("/", "-")


def plan_targets(dockerfile: Dockerfile, targets: Sequence[Platform], build: Platform,
                 lexer: ShellLexer, source: SourceOptions) -> list[TargetPlan]:
    return [_plan_target(dockerfile, target, build, lexer, source) for target in targets]


def _plan_target(dockerfile: Dockerfile, target: Platform, build: Platform, lexer: ShellLexer,
                 source: SourceOptions) -> TargetPlan:
    global_args = global_arg_values(dockerfile, source.build_args, target.as_tuple(), build.as_tuple())
    expand = make_expander(lexer, global_args, dockerfile)
    named = {context.name for context in source.named_contexts}
    replaced = (lambda ref: context_name(ref) in named) if named else (lambda ref: False)  # noqa: E731
    plan = plan_stages(dockerfile, source.target, source.skip_unused_stages, expand, replaced)
    platforms: dict[int, Platform] = {}
    keys: dict[int, str] = {}
    for index in plan.order:  # a stage's dependencies come before it
        stage = dockerfile.stages[index]
        base = None if replaced(expand(stage.base)) else dockerfile.earlier_stage(expand(stage.base), index)
        if stage.platform:
            platforms[index] = _stage_platform(expand(stage.platform), stage, dockerfile)
        elif base is not None:
            platforms[index] = platforms[base.index]
        else:
            platforms[index] = target
        reads = []
        for ref, _line in stage_refs(stage):
            found = None if replaced(expand(ref)) else dockerfile.earlier_stage(expand(ref), index)
            # an image (or a named context) read by --from is pulled for the target
            reads.append(keys[found.index] if found is not None else ["image", expand(ref), str(target)])
        declared = sorted({name for instruction in stage.instructions
                           if isinstance(instruction, ArgInstruction) for name, _ in instruction.pairs})
        keys[index] = json.dumps({
            "stage": index, "platform": str(platforms[index]),
            "base": keys[base.index] if base is not None else expand(stage.base),
            "reads": reads, "args": {name: global_args.get(name) for name in declared},
        }, sort_keys=True)
    return TargetPlan(target, global_args, plan, platforms, keys)


def _stage_platform(text: str, stage: Stage, dockerfile: Dockerfile) -> Platform:
    try:
        return Platform.parse(text)
    except ValueError:
        raise DockerfileError(f"FROM --platform={stage.platform}: {text!r} is not os/arch[/variant]",
                              line=stage.line, dockerfile=dockerfile.name) from None


def run_platforms(plans: Sequence[TargetPlan], dockerfile: Dockerfile) -> list[Platform]:
    """The platforms that the stages to build run RUN steps as (each stage once, however many
    targets share it): what must run natively or under emulation."""
    seen: set[str] = set()
    found: list[Platform] = []
    for plan in plans:
        for index in plan.stages.order:
            if plan.keys[index] in seen:
                continue
            seen.add(plan.keys[index])
            if any(isinstance(i, RunInstruction) for i in dockerfile.stages[index].instructions):
                found.append(plan.platforms[index])
    return list(dict.fromkeys(found))
