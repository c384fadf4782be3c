"""RUN: a command executed in the build root (chrooted in sandbox mode), with its heredocs and
``--mount``s (secrets, caches, binds, tmpfs, ssh agents) made private to the command: mounted in a
namespace of its own, or placed in the root for its time where none can be had."""

from __future__ import annotations

import logging

from executor.commands.base import CacheInputs, Command, LayerCacheKind, StepContext
from executor.commands.mounts import MountError, MountRequest, prepare_mounts
from executor.dockerfile import RunInstruction
from executor.dockerfile.heredoc import heredoc_marker
from executor.errors import BuildError, RunCommandFailed
from executor.events import event
from executor.rootfs.paths import make_directories
from executor.sandbox.placement import PlacementError
from executor.sandbox.runner import ProcessSpec

log = logging.getLogger("lamina")

DEFAULT_SHELL = ["/bin/sh", "-c"]
# Where BuildKit puts a heredoc script that starts with "#!" (a read-only file private to the RUN).
HEREDOC_SCRIPTS = "/dev/pipes"


class RunCommand(Command[RunInstruction]):
    changes_files = True

    def cache_layer(self) -> LayerCacheKind | None:
        return "run"

    def cache_inputs(self, ctx: StepContext) -> CacheInputs:
        """What the command reads besides the root: bind mounts of context files, and the stages or
        images that bind and cache mounts take ``from=`` (never a secret's content, as BuildKit)."""
        sources, froms = [], []
        for request in self.mount_requests(ctx):
            if request.from_ is not None and request.type in ("bind", "cache"):
                froms.append(request.from_)
            elif request.type == "bind":
                sources.append(request.source or ".")
        return CacheInputs(layer=self.cache_layer(), context_sources=tuple(sources) or None,
                           from_refs=tuple(froms))

    def _shell(self, ctx: StepContext) -> list[str]:
        return list(ctx.state.run_config.get("Shell") or DEFAULT_SHELL)

    def argv(self, ctx: StepContext) -> list[str]:
        if self.instruction.json is not None:
            if not self.instruction.json:
                raise self.error(ctx, "RUN requires at least one argument")
            argv = list(self.instruction.json)
        else:
            argv = [*self._shell(ctx), self.script()[0]]
        if any("\0" in word for word in argv):
            raise self.error(ctx, "the command holds a NUL byte, which no program argument can")
        return argv

    def script(self) -> tuple[str, tuple[str, bytes] | None]:
        """The shell-form command text, and a heredoc script file (name, bytes) to run instead.

        BuildKit's rules: ``RUN <<EOF`` alone runs the body in the shell (or, when it starts with
        ``#!``, as an executable file); anything else (``RUN python3 <<EOF``, several heredocs) is
        handed to the shell with the bodies written back after the line, so the shell itself does
        the redirection, the ``<<-`` tab stripping and the quoted-delimiter rule.
        """
        args, docs = self.instruction.args, self.instruction.heredocs
        if not docs:
            return args, None
        if heredoc_marker(args) is not None:
            body = docs[0].body()
            if body.startswith("#!"):
                return f"{HEREDOC_SCRIPTS}/{docs[0].name}", (docs[0].name, body.encode())
            return body, None
        return args + "".join(f"\n{doc.content}{doc.name}" for doc in docs), None

    def mount_requests(self, ctx: StepContext) -> list[MountRequest]:
        env = ctx.state.expansion_env()
        requests = []
        for mount in self.instruction.mounts:
            try:
                requests.append(mount.request(lambda word: ctx.lexer.process_word(
                    word, env, line=self.instruction.line, dockerfile=ctx.dockerfile_name)))
            except MountError as error:
                raise self.error(ctx, f"RUN --mount: {error}") from None
        return requests

    def execute(self, ctx: StepContext) -> None:
        # --security=insecure needs nothing more: RUN already has the container's capabilities (the
        # CLI said so once); sandbox is the default
        requests = self.mount_requests(ctx)
        argv = self.argv(ctx)
        state = ctx.state
        try:
            user = ctx.users.process_identity(state.run_config.get("User") or "")
        except BuildError as error:
            raise self.error(ctx, str(error)) from None
        workdir = state.run_config.get("WorkingDir") or "/"
        make_directories(ctx.root, workdir)
        _, script = self.script() if self.instruction.json is None else ("", None)
        extra = ((f"{HEREDOC_SCRIPTS}/{script[0]}", script[1], 0o755),) if script else ()
        root_for = ctx.from_sources.root_for if ctx.from_sources is not None else None
        log.info("RUN %s", " ".join(argv), extra=event("run.process", line=self.instruction.line,
                                                        argv=list(argv)))
        try:
            with prepare_mounts(requests, root=ctx.root, workdir=workdir, environment=ctx.mounts,
                                files=ctx.files, root_for=root_for, extra=extra) as prepared:
                process_env = {**prepared.default_env, **state.process_env(), **prepared.env}
                process_env.setdefault("HOME", user.home)  # as runc does for a container process
                code = ctx.runner.run(ProcessSpec(argv=tuple(argv), env=process_env, cwd=workdir,
                                                  uid=user.uid, gid=user.gid, groups=user.groups,
                                                  mounts=tuple(prepared.mounts),
                                                  network=self.instruction.network))
        except (MountError, PlacementError) as error:
            raise self.error(ctx, f"RUN --mount: {error}") from None
        except OSError as error:
            raise self.error(ctx, f"RUN --mount: preparing the mounts failed: {error}") from None
        if code != 0:
            shown = self.instruction.args if self.instruction.json is None else " ".join(argv)
            if ctx.runner.failure_hint:
                log.warning("%s", ctx.runner.failure_hint)
            raise RunCommandFailed(shown, 128 - code if code < 0 else code, line=self.instruction.line)

