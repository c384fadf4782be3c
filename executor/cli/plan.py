"""The kaniko fork's ``--dryrun`` (and ``KANIKO_PRINT_PLAN``): the stages a build would run, in
order, each with its instructions as written, and where the image would go. Nothing is pulled,
run or pushed; a remote context is fetched, as the Dockerfile is read from it."""

from __future__ import annotations

from collections.abc import Mapping

from executor.builder.build import read_dockerfile
from executor.builder.plan import make_expander
from executor.builder.platforms import plan_targets
from executor.contexts import fetch_context
from executor.dockerfile import ShellLexer
from executor.image import Platform
from executor.options import ExecutorOptions

__all__ = ["render_plan"]


def render_plan(options: ExecutorOptions, environ: Mapping[str, str]) -> str:
    fetch_context(options.source.fetch, environ)
    dockerfile = read_dockerfile(options.source.dockerfile, options.source.context)
    targets = [Platform.of(p) for p in options.platforms.targets or (options.registry.platform,)]
    plans = plan_targets(dockerfile, targets, Platform.of(options.platforms.build),
                         ShellLexer(dockerfile.escape), options.source)
    lines = []
    for target in plans:
        expand = make_expander(ShellLexer(dockerfile.escape), target.global_args, dockerfile)
        plan = target.stages
        if len(plans) > 1:
            lines.append(f"PLATFORM {target.target}")
        for index in plan.order:
            stage = dockerfile.stages[index]
            roles = ["the image" if index == plan.target else "",
                     "its files kept for later stages" if index in plan.keep_files else "",
                     f"runs as {target.platforms[index]}" if target.platforms[index] != target.target else ""]
            note = "; ".join(role for role in roles if role)
            lines.append(f"FROM {expand(stage.base)}{f' AS {stage.name}' if stage.name else ''}"
                         f"  # stage {index}{f': {note}' if note else ''}")
            lines.extend(f"  {instruction.original}" for instruction in stage.instructions)
    if not options.output.no_push:
        lines.extend(f"PUSH {destination}" for destination in options.output.destinations)
    return "\n".join(lines) + "\n"
