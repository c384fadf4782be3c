"""The cases buildah can build, by buildah (--isolation chroot, vfs) as a second opinion: same files,
same config as lamina, except where a case records that buildah differs (and why)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.differential.cases import CASES, Case
from tests.differential.compare import case_context, describe, differences
from tests.support.buildah import buildah_build_and_push
from tests.support.executor import run_executor
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

# buildah leaves mount-point stubs of what it bind-mounts into RUN; lamina, like kaniko and
# BuildKit, keeps them out of the image.
BUILDAH_STUBS = ("/etc/hosts", "/etc/resolv.conf", "/etc/hostname", "/run/.containerenv", "/run")
BUILDAH_CASES = [case for case in CASES
                 if case.buildah and not case.refused and "build" not in case.differs("docker")]


@pytest.mark.slow
@pytest.mark.parametrize("case", BUILDAH_CASES, ids=[case.name for case in BUILDAH_CASES])
def test_same_as_buildah(case: Case, tmp_path: Path, registry: RunningRegistry, bases: dict[str, str]) -> None:
    recorded = case.differs("buildah")
    context = case_context(case, tmp_path / "context", bases)
    ours_ref, theirs_ref = registry.ref(f"diff/{case.name}-lamina"), registry.ref(f"diff/{case.name}-buildah")
    run = run_executor(tmp_path / "lamina", context, "--destination", ours_ref, *case.build_flags)
    assert run.returncode == 0, run.stderr
    buildah_build_and_push(tmp_path / "buildah", context, registry, theirs_ref, case.build_args, case.target)
    ours = pull_image(registry, ours_ref, tmp_path / "pull-lamina")
    for stub in BUILDAH_STUBS:
        assert stub not in ours.tree() or stub == "/run", f"lamina leaked the mount stub {stub}"
    found = differences(ours, pull_image(registry, theirs_ref, tmp_path / "pull-buildah"),
                        their_stubs=BUILDAH_STUBS)
    unexpected = {where: pair for where, pair in found.items() if where not in recorded}
    assert unexpected == {}, describe(unexpected, "buildah")
    assert set(recorded) <= set(found), f"recorded disagreements no longer seen: {set(recorded) - set(found)}"
