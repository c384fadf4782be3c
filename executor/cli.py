"""``executor``: kaniko's command line, turned into options, a build, and one-line errors."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Mapping, Sequence

from executor.errors import BuildInterrupted, LaminaError, UsageError
from executor.options import (ExecutorOptions, OutputOptions, RegistryOptions, RootOptions,
                              SourceOptions)

log = logging.getLogger("lamina")

# kaniko (pflag) booleans take no separate value but accept "--flag=true|false".
BOOLEAN_FLAGS = ("--no-push", "--insecure", "--insecure-pull", "--skip-tls-verify",
                 "--skip-tls-verify-pull", "--force", "--ignore-var-run")

VERBOSITY_LEVELS = {"panic": logging.CRITICAL, "fatal": logging.CRITICAL, "error": logging.ERROR,
                    "warn": logging.WARNING, "warning": logging.WARNING, "info": logging.INFO,
                    "debug": logging.DEBUG, "trace": logging.DEBUG}


def _normalize_booleans(argv: Sequence[str]) -> list[str]:
    """Rewrite ``--flag=true`` to ``--flag`` and ``--flag=false`` to ``--no-lamina-flag``."""
    result = []
    for arg in argv:
        name, sep, value = arg.partition("=")
        if sep and name in BOOLEAN_FLAGS:
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


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="executor", description="Build a container image from a Dockerfile, "
                     "without a daemon (kaniko-compatible).", allow_abbrev=False)
    add = parser.add_argument
    add("-f", "--dockerfile", default="Dockerfile",
        help="path to the Dockerfile, relative to the context unless absolute")
    add("-c", "--context", default="/workspace/", help="build context: dir://PATH or a plain path")
    add("-d", "--destination", action="append", default=[], help="image to push (repeatable)")
    add("--build-arg", action="append", default=[], help="K=V, or K to take it from the environment")
    add("--label", action="append", default=[], help="K=V label set on the image (repeatable)")
    add("--tar-path", help="also write the image as a tarball that docker/podman load accepts")
    add("--digest-file", help="write the pushed image's digest to this file")
    add("--kaniko-dir", default=os.environ.get("KANIKO_DIR", "/kaniko"),
        help="where the executor keeps its own files (default /kaniko)")
    add("--root", default="/", help="sandbox mode: build in DIR instead of / (RUN is chrooted there)")
    add("--verbosity", "-v", default="info", choices=sorted(VERBOSITY_LEVELS),
        help="log level")
    add("--ignore-path", action="append", default=[], help="path to leave out of snapshots")
    for flag, help_text in (
        ("--no-push", "build, but push nowhere"),
        ("--insecure", "push to registries over plain HTTP"),
        ("--insecure-pull", "pull from registries over plain HTTP"),
        ("--skip-tls-verify", "push without verifying TLS certificates"),
        ("--skip-tls-verify-pull", "pull without verifying TLS certificates"),
        ("--force", "build on / even outside a container"),
        ("--ignore-var-run", "leave /var/run out of snapshots (default true)"),
    ):
        dest = flag[2:].replace("-", "_")
        parser.add_argument(flag, dest=dest, action="store_true", help=help_text)
        parser.add_argument("--no-lamina-" + flag[2:], dest=dest, action="store_false",
                            help=argparse.SUPPRESS)
    parser.set_defaults(ignore_var_run=True)
    return parser


def _key_values(values: Sequence[str], flag: str, env: Mapping[str, str]) -> dict[str, str]:
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


def _context_path(context: str) -> Path:
    if context.startswith("dir://"):
        context = context[len("dir://"):]
    elif "://" in context:
        scheme = context.split("://", 1)[0]
        raise UsageError(f"context {context!r}: the {scheme}:// context is not supported yet; "
                         "use dir://PATH or a plain path")
    return Path(context).absolute()


def parse_options(argv: Sequence[str], env: Mapping[str, str]) -> ExecutorOptions:
    args = build_parser().parse_args(_normalize_booleans(argv))
    context = _context_path(args.context)
    dockerfile = Path(args.dockerfile)
    if not dockerfile.is_absolute():
        dockerfile = context / dockerfile
    if not args.destination and not args.no_push:
        raise UsageError("you must provide --destination, or use --no-push")
    return ExecutorOptions(
        source=SourceOptions(context=context, dockerfile=dockerfile,
                             build_args=_key_values(args.build_arg, "--build-arg", env),
                             labels=_key_values(args.label, "--label", env)),
        root=RootOptions(root=Path(args.root).absolute(), kaniko_dir=Path(args.kaniko_dir).absolute(),
                         force=args.force, ignore_paths=tuple(args.ignore_path),
                         ignore_var_run=args.ignore_var_run),
        registry=RegistryOptions(insecure=args.insecure, insecure_pull=args.insecure_pull,
                                 skip_tls_verify=args.skip_tls_verify,
                                 skip_tls_verify_pull=args.skip_tls_verify_pull),
        output=OutputOptions(destinations=tuple(args.destination), no_push=args.no_push,
                             tar_path=Path(args.tar_path).absolute() if args.tar_path else None,
                             digest_file=Path(args.digest_file).absolute() if args.digest_file else None),
        verbosity=args.verbosity,
    )


def _raise_interrupted(signum: int, _frame: object) -> None:
    raise BuildInterrupted(signum)


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, _raise_interrupted)
    logging.basicConfig(format="%(levelname)s %(message)s", stream=sys.stderr, level=logging.INFO)
    try:
        options = parse_options(argv, os.environ)
        logging.getLogger().setLevel(VERBOSITY_LEVELS[options.verbosity])
        from executor.build.executor import execute  # heavy imports only once flags are valid
        digest = execute(options)
        if digest:
            log.info("image digest %s", digest)
        return 0
    except LaminaError as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"error: {message}", file=sys.stderr)
        return error.exit_code
    except OSError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
