"""``executor``: kaniko's command line, turned into options, a build, and one-line errors."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from executor import __version__, contexts
from executor.cli import (
    attestation_flags,
    context_flags,
    help_groups,
    kaniko_compat,
    observe,
    registry_flags,
    snapshot_flags,
    ssh_flags,
)
from executor.cli.logs import LOG_FORMATS, configure_logging
from executor.cli.progress import progress_interval
from executor.cli.repeated import unique_ids
from executor.errors import BuildInterrupted, LaminaError, UsageError
from executor.options import ExecutorOptions, RootOptions, SecretSource, SourceOptions

log = logging.getLogger("lamina")

# kaniko (pflag) booleans take no separate value but accept "--flag=true|false".
BOOLEAN_FLAGS = ("--no-push", "--insecure", "--insecure-pull", "--skip-tls-verify",
                 "--skip-tls-verify-pull", "--force", "--ignore-var-run", "--skip-unused-stages",
                 "--cleanup", "--pre-cleanup", "--log-timestamp", "--require-confinement",
                 "--confine-run", "--dryrun", "--materialize", "--check")
# kaniko's and the kaniko fork's subcommands that lamina has not: what to use instead.
UNSUPPORTED_SUBCOMMANDS = {
    "login": "write the registry's credentials into a docker config.json ($DOCKER_CONFIG or "
             "<kaniko-dir>/.docker) instead",
    "push": "push the --tar-path or --oci-layout-path output with skopeo or crane instead",
}

VERBOSITY_LEVELS = {"panic": logging.CRITICAL, "fatal": logging.CRITICAL, "error": logging.ERROR,
                    "warn": logging.WARNING, "warning": logging.WARNING, "info": logging.INFO,
                    "debug": logging.DEBUG, "trace": logging.DEBUG}


def normalize_booleans(argv: Sequence[str]) -> list[str]:
    """Rewrite ``--flag=true`` to ``--flag`` and ``--flag=false`` to ``--no-lamina-flag``."""
    result = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name in (*BOOLEAN_FLAGS, *registry_flags.BOOLEAN_FLAGS,
                            *snapshot_flags.BOOLEAN_FLAGS, *kaniko_compat.BOOLEAN_FLAGS):
            lowered = value.lower()
            if lowered in ("true", "1", "t", "yes"):
                result.append(name)
            elif lowered in ("false", "0", "f", "no"):
                result.append("--no-lamina-" + name[2:])
            else:
                raise UsageError(f"invalid value {value!r} for {name}: expected true or false")
        else:
            result.append(arg)
    return result


class FlagParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(f"{message} (`{self.prog} --help` lists the flags)")


class ExecutorParser(FlagParser):
    """The executor's parser: --help lists the flags by group (help_groups.py)."""

    def format_help(self) -> str:
        return help_groups.grouped_help(self)


def build_parser(env: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """Every flag of kaniko's executor (v1.24 and the maintained fork's), lamina's own, and the
    kaniko spellings lamina takes without acting on (kaniko_compat.py). ``env`` holds the variables
    that default flags, as in kaniko (KANIKO_DIR, KANIKO_CLEANUP, KANIKO_PRE_CLEANUP)."""
    env = {} if env is None else env
    parser = ExecutorParser(prog="executor", usage="executor [flags]  (or: executor version | "
                            "executor index ... | executor report FILE.json -o FILE.html)", description="Build a container image from a Dockerfile, "
                        "without a daemon (kaniko-compatible). `executor version` prints the "
                        "version; `executor index --help` puts an index of images already "
                        "pushed.", allow_abbrev=False)
    _add_source_flags(parser)
    _add_run_flags(parser, env)
    registry_flags.add_flags(parser)
    snapshot_flags.add_flags(parser, registry_flags.add_boolean)
    context_flags.add_flags(parser)
    ssh_flags.add_flags(parser)
    kaniko_compat.add_flags(parser, registry_flags.add_boolean)
    observe.add_flags(parser)
    attestation_flags.add_flags(parser)
    return parser


def _add_source_flags(parser: argparse.ArgumentParser) -> None:
    add = parser.add_argument
    add("-f", "--dockerfile", default="Dockerfile",
        help="path to the Dockerfile (relative to the working directory if it is there, else to "
             "the context, as kaniko), or an http(s) URL")
    add("-c", "--context", default=None, help="build context (default /workspace/): a path, "
        "dir://, tar://PATH, tar://stdin, gs://, s3://, git://HOST/REPO.git#REF#COMMIT or https:// "
        "(a .tar.gz)")
    add("-d", "--destination", action="append", default=[], help="image to push (repeatable)")
    add("--build-arg", action="append", default=[], help="K=V, or K to take it from the environment")
    add("--label", action="append", default=[], help="K=V label set on the image (repeatable)")
    add("--secret", action="append", default=[],
        help="id=ID,src=FILE or id=ID,env=VAR (id=ID alone: the variable ID if set, else the file "
             "ID): a secret for RUN --mount=type=secret (repeatable)")
    add("--tar-path", help="also write the image as a tarball that docker/podman load accepts")
    add("--digest-file", help="write the pushed image's digest to this file")
    add("--target", action="append", default=[], help="build the stage of this name (or index) as "
        "the image; the kaniko fork's repeated or comma-separated targets: the first is built")
    # BuildKit's rule and the kaniko fork's default since v1.28; =false builds every stage up to
    # the target, as kaniko v1 did
    registry_flags.add_boolean(parser, "--skip-unused-stages",
                               "build only the stages the target depends on (default true; "
                               "=false builds every stage up to the target, as kaniko v1 did)")
    parser.set_defaults(skip_unused_stages=True)
    registry_flags.add_boolean(parser, "--check", "run BuildKit's build checks (docker build --check) "
                               "and stop: nothing is pulled or built; exits 1 when a check warns")
    registry_flags.add_boolean(parser, "--dryrun", "print the stages the build would run, in "
                               "order, and stop: nothing is pulled, run or pushed")


def _add_run_flags(parser: argparse.ArgumentParser, env: Mapping[str, str]) -> None:
    add = parser.add_argument
    add("--kaniko-dir", default=env.get("KANIKO_DIR") or "/kaniko",
        help="where the executor keeps its own files (default $KANIKO_DIR, else /kaniko)")
    add("--root", default="/", help="sandbox mode: build in DIR instead of / (RUN is chrooted there)")
    add("--network", default="default", choices=("default", "host", "none"),
        help="the network of RUN commands in sandbox mode: default (a namespace of its own, out "
        "through slirp4netns, no access to the host's loopback), host, or none")
    add("--log-format", default="color", choices=LOG_FORMATS,
        help="color (the default, as kaniko's; levels coloured on a terminal only), text, or json "
        "(one object a line, with build events)")
    add("--verbosity", "-v", default="info", type=str.lower, choices=sorted(VERBOSITY_LEVELS),
        help="log level")
    add("--ignore-path", action="append", default=[], help="path to leave out of snapshots")
    for flag, help_text in (
        ("--no-push", "build, but push nowhere (also KANIKO_NO_PUSH=true)"),
        ("--insecure", "push to registries over plain HTTP"),
        ("--insecure-pull", "pull from registries over plain HTTP"),
        ("--skip-tls-verify", "push without verifying TLS certificates"),
        ("--skip-tls-verify-pull", "pull without verifying TLS certificates"),
        ("--force", "build on / even outside a container"),
        ("--ignore-var-run", "leave /var/run out of snapshots (default true)"),
        ("--cleanup", "wipe the build root after the build, so the container can build again "
         "(default $KANIKO_CLEANUP)"),
        ("--pre-cleanup", "wipe the build root before the first stage too: what the executor's "
         "own image holds stays out of the build (default $KANIKO_PRE_CLEANUP)"),
        ("--materialize", "leave the target's files in the root after the build (lamina always does)"),
        ("--log-timestamp", "start each text log line with its time"),
        ("--require-confinement", "refuse to build on / when RUN steps cannot be confined "
         "(no Landlock in this kernel) instead of warning"),
        ("--confine-run", "on / (container mode), keep RUN steps out of the kaniko dir with Landlock "
         "(default true; false: kaniko's behaviour, for RUNs that create entries directly in /)"),
    ):
        registry_flags.add_boolean(parser, flag, help_text)
    parser.set_defaults(ignore_var_run=True, confine_run=True,
                        cleanup=kaniko_compat.env_flag(env, "KANIKO_CLEANUP"),
                        pre_cleanup=kaniko_compat.env_flag(env, "KANIKO_PRE_CLEANUP"))


def _secret(spec: str, env: Mapping[str, str]) -> SecretSource:
    """``id=ID,src=FILE`` (``source=``, ``type=file``) or ``id=ID,env=VAR`` (``type=env``), as
    ``docker buildx build --secret``; only where the secret is, never its value, is kept. A bare
    ``id=ID`` is the variable ID if it is set, else the file ID (as buildx and the kaniko fork)."""
    fields: dict[str, str] = {}
    for item in spec.split(","):
        key, eq, value = item.partition("=")
        key = {"source": "src"}.get(key.strip().lower(), key.strip().lower())
        if not eq or key not in ("id", "src", "env", "type") or not value:
            raise UsageError(f"--secret {spec!r}: expected id=ID,src=FILE or id=ID,env=VAR")
        fields[key] = value
    if fields.keys() == {"id"}:
        fields = {**fields, **({"env": fields["id"]} if fields["id"] in env else {"src": fields["id"]})}
    secret_id, kind = fields.get("id"), fields.get("type", "env" if "env" in fields else "file")
    if not secret_id or kind not in ("file", "env"):
        raise UsageError(f"--secret {spec!r}: expected id=ID,src=FILE or id=ID,env=VAR")
    if kind == "env":
        return SecretSource(id=secret_id, env=fields.get("env") or fields.get("src") or secret_id)
    if "src" not in fields:
        raise UsageError(f"--secret {spec!r}: src=FILE is missing")
    path = Path(fields["src"]).absolute()
    if not path.is_file():
        raise UsageError(f"--secret {spec!r}: {path} is not a readable file")
    return SecretSource(id=secret_id, path=path)


def key_values(values: Sequence[str], flag: str, env: Mapping[str, str]) -> dict[str, str]:
    result: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not key:
            raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
        if not sep:
            if flag != "--build-arg":
                raise UsageError(f"{flag} {item!r}: expected KEY=VALUE")
            if key not in env:
                continue  # docker ignores a bare build arg that is not in the environment
            value = env[key]
        result[key] = value
    return result


@dataclass(frozen=True)
class CommandLine:
    """What a command line asks for: the build's options, the notices to log once logging is set
    up (kaniko flags without effect, deprecated spellings), and whether to print the plan first
    (the kaniko fork's KANIKO_PRINT_PLAN) or only the plan (--dryrun)."""

    options: ExecutorOptions
    notices: tuple[str, ...] = ()
    dry_run: bool = False
    print_plan: bool = False
    check: bool = False  # --check: the build checks alone
    build_report: Path | None = None  # --build-report FILE (executor/cli/report.py)


def parse_options(argv: Sequence[str], env: Mapping[str, str], cwd: Path | None = None) -> ExecutorOptions:
    return parse_command_line(argv, env, cwd).options


def parse_command_line(argv: Sequence[str], env: Mapping[str, str],
                       cwd: Path | None = None) -> CommandLine:
    """The executor's flags and kaniko's environment variables (``env``) into options. With
    ``cwd``, a relative --dockerfile found there is that file, as kaniko looks there first."""
    args = build_parser(env).parse_args(normalize_booleans(argv))
    overrides, notices = kaniko_compat.resolve(args, env)
    target, target_notices = kaniko_compat.targets(args.target)
    args = argparse.Namespace(**{**vars(args), **overrides, "target": target,
                                 "no_push": kaniko_compat.no_push(env, args.no_push)})
    dockerfile = args.dockerfile
    if cwd is not None and "://" not in dockerfile and not Path(dockerfile).is_absolute() \
            and (cwd / dockerfile).exists():
        dockerfile = str(cwd / dockerfile)
    where = contexts.locate_context(context_flags.context_spec(args.context, args.bucket), dockerfile,
                                    args.context_sub_path, context_flags.git_options(args.git),
                                    Path(args.kaniko_dir).absolute())
    if not args.destination and not args.no_push and not args.dryrun and not args.check:
        raise UsageError("you must provide --destination, or use --no-push")
    options = ExecutorOptions(
        source=SourceOptions(context=where.context, dockerfile=where.dockerfile, fetch=where.fetch,
                             build_args=key_values(args.build_arg, "--build-arg", env),
                             labels=key_values(args.label, "--label", env),
                             target=args.target, skip_unused_stages=args.skip_unused_stages,
                             secrets=_secrets(args.secret, env), ssh=ssh_flags.ssh_sources(args.ssh, env),
                             named_contexts=context_flags.named_contexts(args.build_context)),
        root=RootOptions(root=Path(args.root).absolute(), kaniko_dir=Path(args.kaniko_dir).absolute(),
                         force=args.force, ignore_paths=tuple(args.ignore_path),
                         ignore_var_run=args.ignore_var_run, cleanup=args.cleanup,
                         pre_cleanup=args.pre_cleanup, network=args.network,
                         require_confinement=args.require_confinement, confine_run=args.confine_run),
        registry=registry_flags.registry_options(args, env),
        output=registry_flags.output_options(args),
        cache=registry_flags.cache_options(args),
        snapshot=snapshot_flags.snapshot_options(args, env),
        platforms=registry_flags.platform_options(args),
        verbosity=args.verbosity, log_format=args.log_format, log_timestamp=args.log_timestamp,
    )
    return CommandLine(options, notices=(*notices, *target_notices), dry_run=args.dryrun,
                       print_plan=kaniko_compat.env_flag(env, "KANIKO_PRINT_PLAN"), check=args.check,
                       build_report=Path(args.build_report).absolute() if args.build_report else None)


def _secrets(specs: Sequence[str], env: Mapping[str, str]) -> tuple[SecretSource, ...]:
    return unique_ids("--secret", "a secret", specs, lambda spec: _secret(spec, env))


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise BuildInterrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    from executor import pid1

    if pid1.is_init():  # the container's first process: reap orphans, forward signals (pid1.py)
        return pid1.serve_as_init(lambda: _build_main(argv))
    return _build_main(argv)


def _build_main(argv: Sequence[str]) -> int:
    def build() -> int:
        if argv[:1] == ["version"]:  # kaniko's `executor version`
            print(f"lamina version {_version()} (kaniko-compatible executor)")
            return 0
        if argv[:1] == ["index"]:  # lamina's: an index of images pushed by one build per platform
            from executor.cli.index import run_index

            return run_index(argv[1:], os.environ)
        if argv[:1] == ["report"]:  # lamina's: a --build-report file as an HTML page
            from executor.cli.html_report import run_report

            return run_report(argv[1:])
        if argv[:1] and argv[0] in UNSUPPORTED_SUBCOMMANDS:
            raise UsageError(f"`executor {argv[0]}` (a kaniko fork subcommand) is not supported: "
                             f"{UNSUPPORTED_SUBCOMMANDS[argv[0]]}")
        command = parse_command_line(argv, os.environ, Path.cwd())
        options = command.options
        progress = configure_logging(options.log_format, options.log_timestamp,
                                     VERBOSITY_LEVELS[options.verbosity],
                                     progress_interval=progress_interval(os.environ),
                                     term=os.environ.get("TERM", ""))
        try:
            return _build(command)
        finally:
            if progress is not None:
                progress.close()

    return run_cli(build)


def _build(command: CommandLine) -> int:
    options = command.options
    for notice in command.notices:
        log.warning("%s", notice)
    if command.check:
        from executor.cli.check import run_check  # the build's modules, only when asked
        return run_check(options, os.environ)
    if command.dry_run or command.print_plan:
        from executor.cli.plan import render_plan  # the build's modules, only when asked
        sys.stdout.write(render_plan(options, os.environ))
        sys.stdout.flush()
        if command.dry_run:
            return 0
    from executor.builder.build import execute  # heavy imports only once flags are valid
    from executor.cli.check import log_build_checks
    log_build_checks(options)  # BuildKit's check warnings; error=true stops here
    with observe.observed_build(command.build_report, options.log_format, os.environ, _version()):
        digest = execute(options)
    if digest:
        log.info("image digest %s", digest)
    return 0


def _version() -> str:
    return __version__


def run_cli(body: Callable[[], int]) -> int:
    """Run a command (executor, warmer) as kaniko's do: SIGTERM and SIGHUP interrupt it (finally
    blocks remove what is half-written), logs go to stderr, and an error is one ``error:`` line
    and a non-zero exit code, never a traceback."""
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupted)
    logging.basicConfig(format="%(levelname)s %(message)s", stream=sys.stderr, level=logging.INFO)
    try:
        return body()
    except (LaminaError, OSError, KeyboardInterrupt) as error:
        message, code = failure(error)
        print(f"error: {message}", file=sys.stderr)
        return code


def failure(error: LaminaError | OSError | KeyboardInterrupt) -> tuple[str, int]:
    """The one line and the exit code that report ``error``."""
    if isinstance(error, LaminaError):
        return (str(error).splitlines()[0] if str(error) else type(error).__name__), error.exit_code
    if isinstance(error, OSError):
        return str(error), 1
    return "interrupted", 130


if __name__ == "__main__":
    sys.exit(main())
