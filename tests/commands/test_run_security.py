"""RUN --security: sandbox is the default; insecure builds, with one notice (RUN already has the
container's capabilities)."""

from __future__ import annotations

from pathlib import Path

from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry


def test_run_security_insecure_and_sandbox_build(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"""FROM {busybox_image}
RUN --security=insecure echo insecure > /insecure.txt
RUN --security=sandbox echo sandbox > /sandbox.txt
""")
    destination = registry.ref("run/security")
    run = run_executor(tmp_path, context, "--destination", destination)
    assert run.returncode == 0, run.stderr
    assert len([line for line in run.stderr.splitlines() if "--security=insecure" in line and "changes nothing" in line]) == 1, run.stderr
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/insecure.txt"].content == b"insecure\n"
    assert tree["/sandbox.txt"].content == b"sandbox\n"
