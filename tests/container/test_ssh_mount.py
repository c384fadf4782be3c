"""RUN --mount=type=ssh in the executor's own container under Docker's default capabilities: no
mount namespace, so the agent's socket is a proxy the executor binds in / for the command's time
(executor/sandbox/placement.py); git clones over ssh from Debian's OpenSSH on the host's loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.commands.support import every_blob
from tests.container.images import run_executor_image
from tests.support.docker import RunningDocker
from tests.support.executor import write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry
from tests.support.sshd import RunningSshd, key_material, start_sshd

pytestmark = [pytest.mark.docker, pytest.mark.slow]

README = b"cloned in the executor's container 81c2\n"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"), README)
    yield server
    server.stop()


def test_git_clone_over_ssh_with_a_placed_agent_socket(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        git_ssh_image: str, sshd: RunningSshd) -> None:
    context = write_context(tmp_path / "context", f"""FROM {git_ssh_image}
ENV GIT_SSH_COMMAND="ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
WORKDIR /out
RUN --mount=type=ssh,id=deploy git clone -q {sshd.url()} /out/src \\
    && stat -c '%F %a' "$SSH_AUTH_SOCK" > /out/socket.txt
RUN ls -a /run > /out/run-after.txt
""")
    destination = registry.ref("docker-run/ssh-mount")
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", destination,
                                   "--ssh", "deploy=/kaniko/test-key", volumes={sshd.client_key: "/kaniko/test-key"})
    assert code == 0, log[-3000:]
    image = pull_image(registry, destination, tmp_path / "pulled")
    tree = image.tree()
    assert tree["/out/src/README"].content == README
    assert tree["/out/socket.txt"].content == b"socket 600\n"
    assert b"buildkit" not in tree["/out/run-after.txt"].content
    assert [path for path in tree if path.startswith("/run/buildkit")] == []
    blobs = every_blob(image)
    for material in key_material(sshd.client_key):
        assert not [blob for blob in blobs if material in blob]
        assert material.decode("latin-1") not in log
