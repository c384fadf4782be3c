"""kaniko's flags (tests/cli/kaniko_flags.py: v1.24 and the maintained fork's v1.28) all parse;
the ones without effect and the deprecated spellings say so in exactly one notice line each; the
environment variables kaniko reads work as in kaniko."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from executor.cli import build_parser, parse_command_line, parse_options
from executor.cli.registry_flags import host_platform
from executor.errors import UsageError
from executor.options import CREDENTIAL_HELPERS
from tests.cli.kaniko_flags import ALL_FLAGS, DEPRECATED, DIFFERS, NO_EFFECT, WORKS, KanikoFlag
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

BASE = ("--destination", "registry.example/app:1", "--context", "dir:///workspace")


def _id(flag: KanikoFlag) -> str:
    return " ".join(flag.use)


def test_every_kaniko_flag_is_a_flag_of_the_parser() -> None:
    known = build_parser()._option_string_actions
    missing = [flag.name for flag in ALL_FLAGS if flag.name not in known]
    missing += [flag.short for flag in ALL_FLAGS if flag.short and flag.short not in known]
    assert missing == []


@pytest.mark.parametrize("flag", ALL_FLAGS, ids=_id)
def test_every_kaniko_flag_parses_and_only_the_inert_ones_say_so(flag: KanikoFlag) -> None:
    command = parse_command_line([*BASE, *flag.use], env={})
    mentioning = [notice for notice in command.notices if flag.name in notice]
    if flag.status in (NO_EFFECT, DEPRECATED):
        assert len(command.notices) == 1 and len(mentioning) == 1, command.notices
    elif flag.status == WORKS:
        assert command.notices == ()
    else:
        assert flag.status == DIFFERS and len(command.notices) <= 1


def test_a_build_logs_one_notice_line_per_inert_flag(tmp_path: Path) -> None:
    inert = [flag for flag in ALL_FLAGS if flag.status in (NO_EFFECT, DEPRECATED)]
    uses = [arg.replace("/workspace/", f"{tmp_path}/") for flag in inert for arg in flag.use]
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY a.txt /a.txt\n", {"a.txt": "a\n"})
    run = run_executor(tmp_path, context, "--no-push", "--customPlatform=linux/amd64", *uses,
                       env={"BENCHMARK_FILE": str(tmp_path / "bench.json")})
    assert run.returncode == 0, run.stderr
    for flag in inert:
        lines = [line for line in run.stderr.splitlines() if flag.name in line]
        assert len(lines) == 1, (flag.name, run.stderr)
        assert lines[0].startswith("WARNING ")
    assert len([line for line in run.stderr.splitlines() if "BENCHMARK_FILE" in line]) == 1
    assert (tmp_path / "image.tar").is_file()  # --tarPath is --tar-path
    assert not (tmp_path / "bench.json").exists()


def test_deprecated_spellings_mean_their_new_flags() -> None:
    options = parse_options([*BASE, "--snapshotMode=time", "--customPlatform=linux/arm64/v8",
                             "--tarPath", "/out/image.tar", "--whitelist-var-run=false"], env={})
    assert options.snapshot.mode == "time"
    assert options.registry.platform == ("linux", "arm64", "v8")
    assert options.output.tar_path == Path("/out/image.tar")
    assert options.root.ignore_var_run is False


def test_the_fork_flags_reach_the_options(tmp_path: Path) -> None:
    secret = tmp_path / "npmrc"
    secret.write_text("token")
    options = parse_options([*BASE, "--annotation", "a=1", "--annotation=b=x=y", "--pre-cleanup",
                             "--credential-helpers=ecr", "--credential-helpers", "GITLAB,ecr",
                             "--secret", "id=TOKEN", "--secret", f"id={secret}",
                             "--git", "depth=3", "--context", "git://git.example/app.git",
                             "--push-ignore-immutable-tag-errors"], env={"TOKEN": "t"})
    assert options.output.annotations == {"a": "1", "b": "x=y"}
    assert options.root.pre_cleanup is True
    assert options.registry.credential_helpers == ("ecr", "gitlab")
    assert [(s.id, s.env, s.path) for s in options.source.secrets] == [
        ("TOKEN", "TOKEN", None), (str(secret), None, secret)]
    assert options.source.fetch is not None
    assert options.source.fetch.source.options.depth == 3  # type: ignore[union-attr]
    assert options.output.push_ignore_immutable_tag_errors is True


@pytest.mark.parametrize("values, expected", [
    (None, CREDENTIAL_HELPERS),
    ([""], ()),
    (["", "google"], ("google",)),
    (["vault,ECR"], ("vault", "ecr")),  # the keychain skips an unknown name with a warning
])
def test_credential_helpers_default_to_all_and_empty_turns_them_off(
        values: list[str] | None, expected: tuple[str, ...]) -> None:
    argv = [*BASE, *(f"--credential-helpers={value}" for value in values or [])]
    assert parse_options(argv, env={}).registry.credential_helpers == expected


def test_several_targets_build_the_first_and_say_so() -> None:
    command = parse_command_line([*BASE, "--target", "release", "--target=tests,lint"], env={})
    assert command.options.source.target == "release"
    [notice] = command.notices
    assert notice.startswith("--target tests,lint: only the first --target (release)")


@pytest.mark.parametrize("argv, fragment", [
    (["--annotation", "novalue"], "KEY=VALUE"),
    (["--git", "depth=many"], "number of commits"),
    (["--secret", "id=a,env=A", "--secret", "id=a,env=B"], "given already"),
    (["--verbosity=loud"], "--verbosity"),
])
def test_bad_values_of_kaniko_flags_are_one_line_errors(argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment):
        parse_options([*BASE, *argv], env={})


def test_bucket_and_bucket_only_contexts_mean_context_tar_gz() -> None:
    def context_of(*argv: str) -> str:
        fetch = parse_options(["--no-push", *argv], env={}).source.fetch
        assert fetch is not None and fetch.source is not None
        return fetch.source.describe()

    assert context_of("-b", "ci-bucket") == context_of("--context=gs://ci-bucket/context.tar.gz")
    assert context_of("--bucket=s3://ci-bucket") == context_of("--context=s3://ci-bucket/context.tar.gz")
    assert context_of("--context=gs://ci-bucket/") == context_of("--context=gs://ci-bucket/context.tar.gz")
    local = parse_options(["--no-push", "-b", "ci-bucket", "--context", "/src"], env={})
    assert local.source.fetch is None and local.source.context == Path("/src")  # as kaniko


def test_kaniko_environment_variables() -> None:
    env = {"KANIKO_DIR": "/kaniko2", "KANIKO_REGISTRY_MIRROR": "mirror.example",
           "KANIKO_REGISTRY_MAP": "quay.io=q2.example", "KANIKO_NO_PUSH": "true",
           "KANIKO_CLEANUP": "1", "KANIKO_PRE_CLEANUP": "true"}
    options = parse_options(["--registry-mirror=m1.example", "--registry-map=quay.io=q1.example"], env)
    assert options.root.kaniko_dir == Path("/kaniko2")
    assert options.output.no_push is True  # no --destination needed
    assert options.root.cleanup and options.root.pre_cleanup
    maps = options.registry.registry_maps
    # flags first, then the variables: kaniko's order of trying them
    assert maps["index.docker.io"] == ("m1.example", "mirror.example")
    assert maps["quay.io"] == ("q1.example", "q2.example")
    assert parse_options(["--no-push", "--kaniko-dir=/k3"], env).root.kaniko_dir == Path("/k3")
    assert parse_options(["--no-push", "--cleanup=false"], env).root.cleanup is False


def test_kaniko_no_push_overrides_the_flag_both_ways() -> None:
    with pytest.raises(UsageError, match="--destination"):
        parse_options(["--no-push"], env={"KANIKO_NO_PUSH": "false"})
    with pytest.raises(UsageError, match="KANIKO_NO_PUSH"):
        parse_options(["--no-push"], env={"KANIKO_NO_PUSH": "maybe"})
    assert parse_command_line(BASE, env={"KANIKO_PRESERVE_CONTEXT": "true"}).notices[0].startswith(
        "--preserve-context (KANIKO_PRESERVE_CONTEXT) has no effect")


def test_a_relative_dockerfile_in_the_working_directory_wins_as_in_kaniko(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "Dockerfile").write_text("FROM scratch\n")
    argv = ["--no-push", "--context", str(tmp_path / "app"), "--dockerfile", "app/Dockerfile"]
    assert parse_options(argv, {}, cwd=tmp_path).source.dockerfile == tmp_path / "app" / "Dockerfile"
    assert parse_options(argv, {}, cwd=tmp_path / "app").source.dockerfile == \
        tmp_path / "app" / "app" / "Dockerfile"  # not there: relative to the context


def _executor(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "executor", *argv], capture_output=True, text=True,
                          timeout=60)


def test_version_subcommand() -> None:
    result = _executor("version")
    assert result.returncode == 0 and result.stdout.startswith("lamina version "), result


def test_the_forks_login_and_push_subcommands_are_one_line_errors() -> None:
    for subcommand in ("login", "push"):
        result = _executor(subcommand, "registry.example")
        assert result.returncode != 0
        assert result.stderr.startswith(f"error: `executor {subcommand}`"), result.stderr
        assert len(result.stderr.splitlines()) == 1


def test_dryrun_prints_the_plan_and_touches_nothing(tmp_path: Path) -> None:
    dockerfile = ("ARG BASE=registry.invalid/base:1\nFROM $BASE AS build\nRUN make\n"
                  "FROM scratch AS unused\nFROM registry.invalid/runtime:2\n"
                  "COPY --from=build /out /app\n")
    context = write_context(tmp_path / "context", dockerfile)
    run = run_executor(tmp_path, context, "--dryrun", "--skip-unused-stages",
                       "--destination", "registry.invalid/app:1")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "FROM registry.invalid/base:1 AS build  # stage 0: its files kept for later stages",
        "  RUN make",
        "FROM registry.invalid/runtime:2  # stage 2: the image",
        "  COPY --from=build /out /app",
        "PUSH registry.invalid/app:1",
    ]
    assert not run.root.exists()  # nothing pulled (registry.invalid does not resolve), nothing run


@pytest.mark.parametrize("machine, expected", [
    ("x86_64", ("linux", "amd64")), ("aarch64", ("linux", "arm64")), ("armv7l", ("linux", "arm", "v7")),
])
def test_the_platform_defaults_to_this_machines_as_in_kaniko(machine: str, expected: tuple[str, ...]) -> None:
    assert host_platform(machine) == expected
    assert parse_options(BASE, env={}).registry.platform == host_platform()


@pytest.mark.parametrize("image_format", ["docker", "oci"])
def test_annotations_are_on_the_pushed_manifest_and_print_plan_builds_too(
        tmp_path: Path, registry: RunningRegistry, image_format: str) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY a.txt /a.txt\n", {"a.txt": "a\n"})
    ref = registry.ref(f"flags/annotated-{image_format}")
    run = run_executor(tmp_path, context, "--destination", ref, f"--image-format={image_format}",
                       "--annotation", "org.opencontainers.image.revision=abc123",
                       "--annotation=team=build", env={"KANIKO_PRINT_PLAN": "true"})
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["FROM scratch  # stage 0: the image", "  COPY a.txt /a.txt",
                                       f"PUSH {ref}"]
    pulled = pull_image(registry, ref, tmp_path / "pull")
    # with lamina's own: created (the config's); scratch has no base annotations
    assert pulled.manifest["annotations"] == {"org.opencontainers.image.revision": "abc123", "team": "build",
                                              "org.opencontainers.image.created": pulled.config["created"]}
