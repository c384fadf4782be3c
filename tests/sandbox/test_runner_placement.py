"""Container mode where no mount namespace can be had (Docker's default capabilities): the host
runner places RUN mounts in the root and the launcher ends whatever the command leaves running
before they are taken away. Exercised on temporary paths only (the root stays ``/``, the targets
lie under pytest's temporary directory); the executor itself never runs on this machine's /."""

from __future__ import annotations

import fcntl
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from executor.errors import BuildInterrupted
from executor.sandbox import landlock
from executor.sandbox.runner import BindMount, Confinement, HostRunner, InlineFile, ProcessSpec, TmpfsMount
from tests.sandbox.test_placement import SECRET, age, state

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="the launcher drops capabilities, which needs root")


def sh(script: str, *mounts: BindMount | InlineFile | TmpfsMount) -> ProcessSpec:
    return ProcessSpec(argv=("/bin/sh", "-c", script), env={"PATH": os.defpath}, mounts=mounts)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """Where the targets lie (an image's /tmp, say): a file the command must not lose."""
    (tmp_path / "root/tmp").mkdir(parents=True)
    (tmp_path / "root/tmp/kept").write_text("from the image\n")
    age(tmp_path / "root")
    return tmp_path / "root"


def placing_runner(tmp_path: Path, **kwargs: object) -> HostRunner:
    return HostRunner(scratch=tmp_path / "kaniko/sandbox", mount_namespaces=False, **kwargs)  # type: ignore[arg-type]


def test_mounts_are_placed_for_the_command_and_gone_after_it(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "kaniko/caches/id-c"
    cache.mkdir(parents=True)
    (cache / "old").write_text("cached\n")
    out = tmp_path / "out"
    before = state(root)
    script = (f"cat {root}/tmp/c/old {root}/tmp/s > {out} && stat -c '%a %u' {root}/tmp/s >> {out} "
              f"&& ls -A {root}/tmp/x >> {out} && echo new > {root}/tmp/c/new && echo x > {root}/tmp/x/x")
    code = placing_runner(tmp_path).run(sh(
        script, BindMount(source=cache, target=f"{root}/tmp/c", readonly=False, movable=True),
        InlineFile(target=f"{root}/tmp/s", content=SECRET), TmpfsMount(target=f"{root}/tmp/x")))
    assert code == 0
    assert out.read_bytes() == b"cached\n" + SECRET + b"400 0\n"
    assert state(root) == before
    assert (cache / "new").read_text() == "new\n"  # the cache kept what the command wrote


@pytest.mark.parametrize("escape", [
    "(trap '' TERM HUP; sleep 1; {write}) &",  # a background child ignoring SIGTERM
    "setsid sh -c 'sleep 1; {write}' &",  # a session of its own: out of the process group
    "( ( sleep 1; {write} ) & ) &",  # a double fork: an orphan at once
])
def test_what_the_command_leaves_running_cannot_put_a_secret_back(tmp_path: Path, root: Path, escape: str) -> None:
    secret = root / "tmp/token"
    write = f'printf %s "$S" > {secret}; printf %s "$S" > {root}/tmp/late'
    code = placing_runner(tmp_path).run(sh(f"S=$(cat {secret}); " + escape.format(write=write) + " echo started",
                                           InlineFile(target=str(secret), content=SECRET)))
    assert code == 0
    time.sleep(2)  # the snapshot comes after the command; give a survivor all the time it wants
    assert sorted(p.name for p in (root / "tmp").iterdir()) == ["kept"]
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and SECRET in p.read_bytes()]


def test_an_interrupted_command_leaves_the_root_as_it_was(tmp_path: Path, root: Path) -> None:
    before = state(root)
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    started = time.monotonic()
    with pytest.raises(BuildInterrupted):
        placing_runner(tmp_path).run(sh("sleep 30", InlineFile(target=f"{root}/tmp/token", content=SECRET),
                                        TmpfsMount(target=f"{root}/tmp/kept")))
    timer.join()
    assert time.monotonic() - started < 10
    assert state(root) == before


def test_a_shared_cache_waits_for_whoever_has_it_placed(tmp_path: Path, root: Path) -> None:
    cache, lock = tmp_path / "kaniko/caches/id-s", tmp_path / "kaniko/caches/id-s.lock"
    cache.mkdir(parents=True)
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)  # another build, its cache in its own root meanwhile
        threading.Timer(0.5, fcntl.flock, (held, fcntl.LOCK_UN)).start()
        started = time.monotonic()
        code = placing_runner(tmp_path).run(sh("true", BindMount(source=cache, target=f"{root}/tmp/c",
                                                                 readonly=False, movable=True, lock=lock)))
    assert code == 0 and time.monotonic() - started >= 0.5


@pytest.mark.skipif(landlock.abi_version() == 0, reason="the kernel has no Landlock")
def test_a_confined_command_reaches_its_placed_mounts_and_nothing_set_aside(tmp_path: Path, root: Path) -> None:
    cache = tmp_path / "kaniko/caches/id-c"
    cache.mkdir(parents=True)
    (cache / "old").write_text("cached\n")
    (root / "tmp/c").mkdir()  # what the cache hides: set aside in the kaniko dir meanwhile
    (root / "tmp/c/hidden").write_text("the image's\n")
    out = tmp_path / "out"
    out.touch()
    script = (f"cat {root}/tmp/c/old {root}/tmp/s > {out} && echo new > {root}/tmp/c/new "
              f"&& ! ls -R {tmp_path}/kaniko/sandbox/aside 2>/dev/null")
    runner = placing_runner(tmp_path, confinement=Confinement(tmp_path / "kaniko"))
    code = runner.run(sh(script, BindMount(source=cache, target=f"{root}/tmp/c", readonly=False, movable=True),
                         InlineFile(target=f"{root}/tmp/s", content=SECRET)))
    assert code == 0
    assert out.read_bytes() == b"cached\n" + SECRET
    assert (cache / "new").exists() and (root / "tmp/c/hidden").exists()


def test_without_cap_sys_admin_the_runner_finds_out_and_places(tmp_path: Path, root: Path) -> None:
    # The bug this fixes: under Docker's default capabilities a RUN with mounts failed with
    # "unshare: Operation not permitted". The same here, with CAP_SYS_ADMIN out of the bounding set.
    program = f"""
import os
from pathlib import Path
from executor.sandbox.runner import HostRunner, InlineFile, ProcessSpec
runner = HostRunner(scratch=Path({str(tmp_path / 'kaniko/sandbox')!r}))
spec = ProcessSpec(argv=("/bin/sh", "-c", "cat {root}/tmp/s > {tmp_path}/out"), env={{"PATH": os.defpath}},
                   mounts=(InlineFile(target="{root}/tmp/s", content=b"placed"),))
print(runner.run(spec), runner.mount_namespaces)
"""
    result = subprocess.run(["setpriv", "--bounding-set", "-sys_admin", sys.executable, "-c", program],
                            capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])
    assert (result.returncode, result.stdout) == (0, "0 False\n"), result.stderr
    assert (tmp_path / "out").read_text() == "placed"
    assert sorted(p.name for p in (root / "tmp").iterdir()) == ["kept"]


def test_where_mounts_can_be_made_the_runner_keeps_mounting(tmp_path: Path) -> None:
    runner = HostRunner(scratch=tmp_path / "kaniko/sandbox")
    assert runner.run(sh("true", TmpfsMount(target=str(tmp_path / "t")))) == 0
    assert runner.mount_namespaces is True


def test_a_placed_script_can_be_executed(tmp_path: Path, root: Path) -> None:
    # RUN <<EOF with #!: the script is an inline file the command executes (no writer may hold it open)
    script = f"{root}/dev-pipes/EOF"
    code = placing_runner(tmp_path).run(ProcessSpec(
        argv=(script,), env={"PATH": os.defpath},
        mounts=(InlineFile(target=script, content=f"#!/bin/sh\necho ran > {tmp_path}/out\n".encode(), mode=0o755),)))
    assert code == 0 and (tmp_path / "out").read_text() == "ran\n"
    assert sorted(p.name for p in root.iterdir()) == ["tmp"]
