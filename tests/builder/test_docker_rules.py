"""Docker's ARG rules that no reference builder here shows: predefined proxy ARGs, BuildKit's
automatic platform ARGs, and substitution errors reported with their line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry


def test_proxy_and_platform_args(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    dockerfile = f"""ARG BASE={busybox_image}
FROM ${{BASE}}
ARG TARGETPLATFORM
ARG TARGETARCH
RUN echo "$TARGETPLATFORM $TARGETARCH $HTTP_PROXY $no_proxy" > /args.txt
"""
    context = write_context(tmp_path / "context", dockerfile)
    destination = registry.ref("rules/args")
    run = run_executor(tmp_path, context, "--destination", destination,
                       "--build-arg", "HTTP_PROXY=http://proxy.invalid:3128", "--build-arg", "no_proxy=internal",
                       "--build-arg", "NOT_USED=1")
    assert run.returncode == 0, run.stderr
    assert "NOT_USED" in run.stderr and "not consumed" in run.stderr
    image = pull_image(registry, destination, tmp_path / "pulled")
    assert image.tree()["/args.txt"].content == b"linux/amd64 amd64 http://proxy.invalid:3128 internal\n"
    config_text = json.dumps(image.config)
    assert "proxy.invalid" not in config_text  # neither in Env nor in the history


@pytest.mark.parametrize("line, fragment", [
    ("ENV A=${B", "${B"),
    ("ENV A=${B:?must-be-set}", "must-be-set"),
    ("COPY ${X:?no-source} /x", "no-source"),
    ("WORKDIR ${A:x}", "A"),
])
def test_bad_substitution_names_the_line(tmp_path: Path, registry: RunningRegistry, busybox_image: str,
                                         line: str, fragment: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN true\n{line}\n")
    destination = registry.ref("rules/bad-substitution")
    run = run_executor(tmp_path, context, "--destination", destination)
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    assert ":3:" in run.error_lines[0] and fragment in run.error_lines[0], run.error_lines[0]


def test_escape_directive(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    dockerfile = f"""# escape=`
FROM {busybox_image}
ENV WIN=C:\\path\\dir
RUN echo "$WIN" `
    > /escaped.txt
"""
    context = write_context(tmp_path / "context", dockerfile)
    destination = registry.ref("rules/escape")
    run = run_executor(tmp_path, context, "--destination", destination)
    assert run.returncode == 0, run.stderr
    image = pull_image(registry, destination, tmp_path / "pulled")
    assert image.tree()["/escaped.txt"].content == b"C:\\path\\dir\n"
