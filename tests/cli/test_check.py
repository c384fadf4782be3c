"""``--check`` as ``docker build --check``: the build checks alone (nothing pulled, nothing built),
BuildKit's report on stdout, exit 1 when a check warns; and in a build, the same warnings logged
as BuildKit's one-liners, ``# check=error=true`` stopping the build before it starts."""

from __future__ import annotations

from pathlib import Path

from executor.cli.main import parse_command_line
from tests.support.executor import run_executor, write_context

WARNED = "FROM nonexistent.invalid/image:1 as base\nCOPY a /a\nCMD run me\n"


def test_check_needs_no_destination(tmp_path: Path) -> None:
    command = parse_command_line(["--context", str(tmp_path), "--check"], env={})
    assert command.check and not command.dry_run


def test_check_prints_buildkits_report_and_exits_1(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", WARNED, {"a": "a\n"})
    run = run_executor(tmp_path / "work", context, "--check")
    assert run.returncode == 1, run.stderr
    assert run.error_lines == []
    assert run.stdout.startswith("Check complete, 2 warnings have been found!\n\n"
                                 "WARNING: FromAsCasing - https://docs.docker.com/go/dockerfile/rule/from-as-casing/\n"
                                 "'as' and 'FROM' keywords' casing do not match\nDockerfile:1\n")
    assert "\nWARNING: JSONArgsRecommended - " in run.stdout and "   3 | >>> CMD run me\n" in run.stdout
    assert not run.root.exists()  # nothing was pulled or built (the base image does not even exist)


def test_clean_dockerfile_checks_clean(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", 'FROM scratch\nCOPY a /a\nCMD ["x"]\n', {"a": "a\n"})
    run = run_executor(tmp_path / "work", context, "--check")
    assert (run.returncode, run.stdout) == (0, "Check complete, no warnings found.\n"), run.stderr


def test_check_reads_the_dockerignore_and_the_check_build_arg(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY secret.txt /\n",
                            {"secret.txt": "s", ".dockerignore": "secret.txt\n"})
    run = run_executor(tmp_path / "work", context, "--check")
    assert run.returncode == 1
    assert 'Attempting to Copy file "secret.txt" that is excluded by .dockerignore' in run.stdout
    skipped = run_executor(tmp_path / "work2", context, "--check", "--build-arg",
                           "BUILDKIT_DOCKERFILE_CHECK=skip=CopyIgnoredFile")
    assert (skipped.returncode, skipped.stdout) == (0, "Check complete, no warnings found.\n")


def test_check_error_true_is_one_error_line(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "# check=error=true\nFROM scratch\nMAINTAINER me\n")
    run = run_executor(tmp_path / "work", context, "--check")
    assert run.returncode == 1
    assert run.stdout.endswith("\nlint violation found for rules: MaintainerDeprecated\nDockerfile:3\n"
                               "--------------------\n   1 |     # check=error=true\n   2 |     FROM scratch\n"
                               "   3 | >>> MAINTAINER me\n   4 |     \n--------------------\n")
    assert run.error_lines == ["error: Dockerfile:3: lint violation found for rules: MaintainerDeprecated"]


def test_check_of_an_unparsable_dockerfile(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY --chmod=u+q a /a\n")
    run = run_executor(tmp_path / "work", context, "--check")
    assert run.returncode != 0 and run.stdout == ""
    assert run.error_lines == ["error: Dockerfile:2: invalid chmod parameter: 'u+q': invalid syntax (an octal "
                               "mode up to 07777, or a symbolic one such as u+x,g-w or a=rX)"]


def test_build_logs_the_warnings_of_the_stages_it_builds(tmp_path: Path) -> None:
    text = ("# syntax=example.com/my/frontend:1\nFROM scratch AS unused\nCOPY $nowhere /\n"
            "FROM scratch as final\nCOPY a /a\nCMD run me\n")
    context = write_context(tmp_path / "context", text, {"a": "a\n"})
    run = run_executor(tmp_path / "work", context, "--no-push")
    assert run.returncode == 0, run.stderr
    warnings = [line for line in run.stderr.splitlines() if line.startswith("WARNING")]
    assert warnings == [
        "WARNING Dockerfile:1: # syntax=example.com/my/frontend:1 is not a Dockerfile frontend lamina knows; "
        "lamina builds with its own Dockerfile frontend (docker/dockerfile:1) and ignores it",
        "WARNING FromAsCasing: 'as' and 'FROM' keywords' casing do not match (line 4)",
        "WARNING JSONArgsRecommended: JSON arguments recommended for CMD to prevent unintended behavior related "
        "to OS signals (line 6)",
    ]  # not the unused stage's UndefinedVar, as BuildKit


def test_build_with_error_true_stops_before_it_starts(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "# check=error=true\nFROM nonexistent.invalid/x\nWORKDIR app\n")
    run = run_executor(tmp_path / "work", context, "--no-push")
    assert run.returncode != 0
    assert run.error_lines == ["error: Dockerfile:3: lint violation found for rules: WorkdirRelativePath"]
    assert "WARNING WorkdirRelativePath: " in run.stderr and "building stage" not in run.stderr
