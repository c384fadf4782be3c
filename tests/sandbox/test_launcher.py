"""The RUN launcher after it has changed root: the interpreter's library is then out of reach (outside
the new root, or denied by Landlock beside the executor), so nothing from there on may import a
module. Each test runs the launcher where an import would fail, through the paths a command takes
after the root change: the PATH lookup, a failed exec, the identity switch."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.sandbox import landlock
from executor.sandbox.runner import ChrootRunner, Confinement, HostRunner, InlineFile, ProcessSpec
from tests.support.images import make_busybox_rootfs

# Where this interpreter's standard library lives: outside every test root, and what Landlock
# denies in the container-mode test (as the kaniko dir holding the bundled library is in the image).
STDLIB = Path(os.__file__).parent

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the sandbox needs root for its namespaces")


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[ChrootRunner]:
    root = make_busybox_rootfs(tmp_path / "root")
    (root / "usr/local/bin").mkdir(parents=True)
    (root / "usr/local/bin/not-executable").write_text("#!/bin/sh\necho never\n")
    runner = ChrootRunner(root=root, scratch=tmp_path / "scratch", network="none")
    yield runner
    runner.close()


def run_in(runner: ChrootRunner, *argv: str, env: dict[str, str] | None = None, uid: int = 0, gid: int = 0,
           mounts: tuple[InlineFile, ...] = ()) -> int:
    """Run ``argv`` with no supplementary groups and, unless given, no environment at all."""
    return runner.run(ProcessSpec(argv=argv, env={} if env is None else env, uid=uid, gid=gid, mounts=mounts))


def test_a_command_without_path_is_found_on_dockers_default(sandbox: ChrootRunner,
                                                            capfd: pytest.CaptureFixture[str]) -> None:
    assert run_in(sandbox, "sh", "-c", "echo found > /tmp/out") == 0
    assert (sandbox.root / "tmp/out").read_text() == "found\n"
    assert "Traceback" not in capfd.readouterr().err


def test_a_command_is_found_on_its_own_path(sandbox: ChrootRunner) -> None:
    env = {"PATH": "/nowhere:/usr/local/bin/not-executable:/bin"}
    assert run_in(sandbox, "sh", "-c", "echo $PATH > /tmp/out", env=env) == 0
    assert (sandbox.root / "tmp/out").read_text() == env["PATH"] + "\n"


@pytest.mark.parametrize(("name", "code", "message"), [
    ("no-such-command", 127, "No such file or directory"),
    ("not-executable", 126, "Permission denied"),
])
def test_a_command_that_cannot_run_fails_in_one_line(sandbox: ChrootRunner, capfd: pytest.CaptureFixture[str],
                                                     name: str, code: int, message: str) -> None:
    assert run_in(sandbox, name, env={"PATH": "/usr/local/bin:/bin"}) == code
    assert capfd.readouterr().err.strip() == f"lamina: exec {name}: {message}"


def test_the_identity_and_inline_files_are_set_after_the_root_change(sandbox: ChrootRunner) -> None:
    script = "id > /tmp/id; cat /run/secret >> /tmp/id"
    code = run_in(sandbox, "sh", "-c", script, uid=1000, gid=50,
                  mounts=(InlineFile(target="/run/secret", content=b"s\n", uid=1000),))
    assert code == 0
    assert (sandbox.root / "tmp/id").read_text() == "uid=1000(app) gid=50(staff)\ns\n"


@pytest.mark.skipif(landlock.abi_version() == 0, reason="the kernel has no Landlock")
def test_a_confined_command_is_found_without_the_interpreters_library(
        tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    runner = HostRunner(scratch=tmp_path / "kaniko", confinement=Confinement(STDLIB))
    out = tmp_path / "out"
    assert runner.run(ProcessSpec(argv=("sh", "-c", f"echo confined > {out}"), env={"PATH": os.defpath},
                                  cwd=str(tmp_path))) == 0
    assert out.read_text() == "confined\n"
    assert runner.run(ProcessSpec(argv=("no-such-command",), env={}, cwd=str(tmp_path))) == 127
    assert capfd.readouterr().err.strip() == "lamina: exec no-such-command: No such file or directory"
