"""--custom-platform (kaniko's) and --platform (BuildKit's) take a comma-separated list; TARGET*
name the platform being built and BUILD* this machine; `executor index`'s flags; --dryrun shows
each platform's stages."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor import warmer
from executor.cli import parse_options
from executor.cli.index import parse_index_options
from executor.cli.registry_flags import host_platform
from executor.dockerfile import parse_dockerfile
from executor.dockerfile.args import global_arg_values, platform_args
from executor.errors import UsageError
from tests.support.executor import run_executor, write_context

BASE = ("--no-push", "--context", "dir:///workspace")


def test_a_list_of_platforms_from_either_spelling() -> None:
    for flag in ("--custom-platform", "--platform", "--customPlatform"):
        options = parse_options([*BASE, f"{flag}=linux/amd64, linux/arm/v7"], env={})
        assert options.platforms.targets == (("linux", "amd64"), ("linux", "arm", "v7"))
        assert options.platforms.multiple and options.platforms.build == host_platform()
        assert options.registry.platform == ("linux", "amd64")  # the first, for pulls
    one = parse_options([*BASE, "--platform", "linux/arm64"], env={})
    assert one.platforms.targets == (("linux", "arm64"),) and not one.platforms.multiple
    assert parse_options(list(BASE), env={}).platforms.targets == (host_platform(),)
    same = parse_options([*BASE, "--platform=linux/arm64", "--custom-platform=linux/arm64"], env={})
    assert same.platforms.targets == (("linux", "arm64"),)


@pytest.mark.parametrize("args, said", [
    (("--custom-platform", "linux/amd64,linux/amd64"), "linux/amd64 is given twice"),
    (("--custom-platform", "linux/amd64,arm64"), "expected os/arch or os/arch/variant"),
    (("--custom-platform", "linux/amd64,"), "expected os/arch"),
    (("--custom-platform", "linux/amd64", "--platform", "linux/arm64"), "disagree"),
])
def test_bad_platform_lists_are_one_line_errors(args: tuple[str, ...], said: str) -> None:
    with pytest.raises(UsageError, match=said):
        parse_options([*BASE, *args], env={})


def test_the_warmer_takes_the_list_too() -> None:
    options = warmer.parse_options(["-i", "a.example/x:1", "--platform", "linux/amd64,linux/arm64"],
                                   env={})
    assert options.platforms == (("linux", "amd64"), ("linux", "arm64"))


def test_target_and_build_platform_args() -> None:
    values = platform_args(("linux", "arm", "v7"), ("linux", "amd64"))
    assert values == {"TARGETPLATFORM": "linux/arm/v7", "TARGETOS": "linux", "TARGETARCH": "arm",
                      "TARGETVARIANT": "v7", "BUILDPLATFORM": "linux/amd64", "BUILDOS": "linux",
                      "BUILDARCH": "amd64", "BUILDVARIANT": ""}
    dockerfile = parse_dockerfile("ARG IMAGE=base-$TARGETARCH\nFROM $IMAGE\n")
    assert global_arg_values(dockerfile, {}, ("linux", "arm64"))["IMAGE"] == "base-arm64"


def test_index_options() -> None:
    options = parse_index_options(["-d", "r.example/app:1", "--from", "r.example/app:amd64",
                                   "--from", "r.example/app:arm64", "--annotation", "a=b",
                                   "--insecure-registry", "r.example"], env={})
    assert options.sources == ("r.example/app:amd64", "r.example/app:arm64")
    assert options.annotations == {"a": "b"} and "r.example" in options.registry.insecure_registries
    with pytest.raises(UsageError, match="at least two --from"):
        parse_index_options(["-d", "r.example/app:1", "--from", "r.example/app:amd64"], env={})
    with pytest.raises(UsageError, match="--from"):
        parse_index_options(["-d", "r.example/app:1"], env={})


def test_dryrun_shows_each_platforms_stages(tmp_path: Path) -> None:
    context = write_context(tmp_path / "context", "FROM --platform=$BUILDPLATFORM busybox AS tools\n"
                            "RUN make\nFROM base-${TARGETARCH}\nCOPY --from=tools /t /t\n")
    run = run_executor(tmp_path, context, "--dryrun", "--custom-platform", "linux/amd64,linux/arm64")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == [
        "PLATFORM linux/amd64",
        "FROM busybox AS tools  # stage 0: its files kept for later stages",
        "  RUN make",
        "FROM base-amd64  # stage 1: the image",
        "  COPY --from=tools /t /t",
        "PLATFORM linux/arm64",
        "FROM busybox AS tools  # stage 0: its files kept for later stages; runs as linux/amd64",
        "  RUN make",
        "FROM base-arm64  # stage 1: the image",
        "  COPY --from=tools /t /t",
    ]
