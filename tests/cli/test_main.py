"""kaniko's flags, as users write them in their pipelines."""

from __future__ import annotations

from pathlib import Path

import pytest

from executor.cli import parse_options
from executor.errors import UsageError


def test_kaniko_style_flags(tmp_path: Path) -> None:
    options = parse_options([
        "--context", f"dir://{tmp_path}", "-f", "sub/Dockerfile.custom",
        "--destination=reg.example/a:1", "-d", "reg.example/a:2",
        "--build-arg", "X=1", "--build-arg=FROM_ENV", "--build-arg", "NOT_IN_ENV",
        "--label", "k=v=w", "--no-push=false", "--insecure", "--skip-tls-verify=true",
        "--tar-path=out/image.tar", "--digest-file", "digest", "--kaniko-dir", str(tmp_path / "k"),
        "--verbosity=debug", "--ignore-var-run=false",
    ], env={"FROM_ENV": "from-env"})
    assert options.source.context == tmp_path
    assert options.source.dockerfile == tmp_path / "sub/Dockerfile.custom"
    assert options.output.destinations == ("reg.example/a:1", "reg.example/a:2")
    assert options.source.build_args == {"X": "1", "FROM_ENV": "from-env"}
    assert options.source.labels == {"k": "v=w"}
    assert options.output.no_push is False
    assert options.registry.insecure and options.registry.skip_tls_verify
    assert not options.registry.insecure_pull
    assert options.output.tar_path == Path("out/image.tar").absolute()
    assert options.root.kaniko_dir == tmp_path / "k"
    assert options.root.ignore_var_run is False
    assert options.verbosity == "debug"


def test_plain_context_path_and_absolute_dockerfile(tmp_path: Path) -> None:
    options = parse_options(["-c", str(tmp_path), "-f", "/abs/Dockerfile", "--no-push"], env={})
    assert options.source.context == tmp_path
    assert options.source.dockerfile == Path("/abs/Dockerfile")
    assert options.root.ignore_var_run is True
    assert options.root.root == Path("/")


@pytest.mark.parametrize("argv, fragment", [
    (["--context", "/x"], "--destination"),
    (["--no-push=maybe"], "--no-push"),
    (["--no-push", "--bogus-flag"], "--bogus-flag"),
    (["--no-push", "--label", "novalue"], "KEY=VALUE"),
    (["--no-push", "--context", "ftp://host/ctx.tar.gz"], "ftp://"),
    (["--no-push", "--context", "s3://"], "s3://BUCKET/"),
])
def test_bad_flags_are_one_line_errors(argv: list[str], fragment: str) -> None:
    with pytest.raises(UsageError, match=fragment.replace("-", r"\-")):
        parse_options(argv, env={})
