"""The kaniko fork's ``--dryrun`` (and ``KANIKO_PRINT_PLAN``): the stages a build would run, in
order, each with its instructions as written, and where the image would go. Nothing is pulled,
run or pushed; a remote context is fetched, as the Dockerfile is read from it."""

from __future__ import annotations

from collections.abc import Mapping

from executor.builder.build import read_dockerfile
from executor.builder.plan import make_expander, plan_stages
from executor.contexts import fetch_context
from executor.dockerfile import ShellLexer
from executor.dockerfile.args import global_arg_values
from executor.options import ExecutorOptions

__all__ = ["render_plan"]


def render_plan(options: ExecutorOptions, environ: Mapping[str, str]) -> str:
    fetch_context(options.source.fetch, environ)
    dockerfile = read_dockerfile(options.source.dockerfile, options.source.context)
    expand = make_expander(ShellLexer(dockerfile.escape),
                           global_arg_values(dockerfile, options.source.build_args), dockerfile)
    plan = plan_stages(dockerfile, options.source.target, options.source.skip_unused_stages, expand)
    lines = []
    for index in plan.order:
        stage = dockerfile.stages[index]
        roles = ["the image" if index == plan.target else "",
                 "its files kept for later stages" if index in plan.keep_files else ""]
        note = "; ".join(role for role in roles if role)
        lines.append(f"FROM {expand(stage.base)}{f' AS {stage.name}' if stage.name else ''}"
                     f"  # stage {index}{f': {note}' if note else ''}")
        lines.extend(f"  {instruction.original}" for instruction in stage.instructions)
    if not options.output.no_push:
        lines.extend(f"PUSH {destination}" for destination in options.output.destinations)
    return "\n".join(lines) + "\n"
