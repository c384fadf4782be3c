"""Host mode (root "/", the executor's own container): RUN mounts go through the launcher without
chroot, privately. Exercised on temporary paths only; the executor itself never runs on /."""

from __future__ import annotations

import os
from pathlib import Path

from executor.sandbox.runner import BindMount, HostRunner, InlineFile, ProcessSpec, TmpfsMount


def test_host_runner_mounts_are_private_to_the_command(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "data.txt").write_text("bound\n")
    target, secret, scratch, out = tmp_path / "target", tmp_path / "secret", tmp_path / "tmpfs", tmp_path / "out"
    for path in (target, scratch):
        path.mkdir()
    secret.touch()
    script = (f"cat {target}/data.txt {secret} > {out} && stat -c %a {secret} >> {out} "
              f"&& echo x > {scratch}/x && ! touch {target}/new 2>/dev/null")
    code = HostRunner(scratch=tmp_path / "kaniko").run(ProcessSpec(
        argv=("/bin/sh", "-c", script), env={"PATH": os.defpath},
        mounts=(BindMount(source=shared, target=str(target)), InlineFile(target=str(secret), content=b"s\n"),
                TmpfsMount(target=str(scratch)))))
    assert code == 0
    assert out.read_text() == "bound\ns\n400\n"
    # Gone with the command: the mount points are empty again, nothing was written through them.
    assert list(target.iterdir()) == [] and list(scratch.iterdir()) == [] and secret.read_bytes() == b""
    assert list((tmp_path / "kaniko/staging").iterdir()) == []
