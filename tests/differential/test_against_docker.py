"""Each case built by lamina and by ``DOCKER_BUILDKIT=1 docker build`` (the reference): both pushed
to the loopback registry, pulled back with skopeo and umoci, and compared file by file and config
key by key. A difference that is not a recorded disagreement fails the case."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential.cases import CASES, Case
from tests.differential.compare import case_context, describe, differences
from tests.support.docker import DockerError, RunningDocker, docker_build
from tests.support.executor import run_executor
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

pytestmark = [pytest.mark.docker, pytest.mark.slow]


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_same_as_docker(case: Case, tmp_path: Path, registry: RunningRegistry, docker: RunningDocker,
                        bases: dict[str, str]) -> None:
    recorded = case.differs("docker")
    context = case_context(case, tmp_path / "context", bases)
    ours_ref, theirs_ref = registry.ref(f"diff/{case.name}-lamina"), registry.ref(f"diff/{case.name}-docker")

    run = run_executor(tmp_path / "lamina", context, "--destination", ours_ref, *case.build_flags)
    try:
        docker_build(docker, context, theirs_ref, *case.build_flags, push=True)
    except DockerError as error:
        if case.refused:
            assert run.returncode != 0, f"docker refuses this Dockerfile and lamina built it: {error}"
            assert len(run.error_lines) == 1 and "Traceback" not in run.stderr, run.stderr
            return
        # docker cannot build what lamina rightly does (a newer BuildKit's feature): lamina must build it
        assert "build" in recorded and recorded["build"].right == "lamina", f"docker refused the case: {error}"
        assert run.returncode == 0, run.stderr
        return
    assert not case.refused, "docker built a case recorded as refused"
    if "build" in recorded:
        assert run.returncode != 0, f"recorded as refused by lamina, but it built: {recorded['build'].why}"
        assert len(run.error_lines) == 1 and "Traceback" not in run.stderr, run.stderr
        return
    assert run.returncode == 0, run.stderr

    found = differences(pull_image(registry, ours_ref, tmp_path / "pull-lamina"),
                        pull_image(registry, theirs_ref, tmp_path / "pull-docker"))
    unexpected = {where: pair for where, pair in found.items() if where not in recorded}
    assert unexpected == {}, describe(unexpected, "docker")
    assert set(recorded) <= set(found), f"recorded disagreements no longer seen: {set(recorded) - set(found)}"
