"""Debian's OpenSSH on loopback for RUN --mount=type=ssh tests: an sshd on a free 127.0.0.1 port
with its own host key and config under a temporary directory, a client key pair it authorizes,
a bare git repository it serves (``git-upload-pack`` through the login shell, as a git host
does), and an ``ssh-agent`` holding the client key."""

from __future__ import annotations

import base64
import getpass
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from .executor import run_executor, write_context
from .registry import RunningRegistry

SSHD = Path("/usr/sbin/sshd")
PRIVSEP_DIR = Path("/run/sshd")  # Debian's sshd refuses to start without it


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def keygen(path: Path, kind: str = "ed25519") -> Path:
    subprocess.run(["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"lamina-test-{kind}", "-f", str(path)],
                   check=True)
    return path


def key_material(key: Path) -> list[bytes]:
    """An ed25519 private key file, its base64 body and its raw 32-byte seed: the forms a leak takes."""
    text = key.read_bytes()
    body = b"".join(line for line in text.splitlines() if not line.startswith(b"-----"))
    seed = serialization.load_ssh_private_key(text, password=None).private_bytes(  # type: ignore[union-attr]
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    assert len(seed) == 32 and seed in base64.b64decode(body)
    return [text, body, seed]


@dataclass
class RunningSshd:
    port: int
    user: str
    client_key: Path  # the private key sshd authorizes
    repository: Path  # a bare repository with one commit (README holding ``content``)
    content: bytes
    process: subprocess.Popen[bytes]
    log: Path

    def url(self) -> str:
        return f"ssh://{self.user}@127.0.0.1:{self.port}{self.repository}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def start_sshd(directory: Path, content: bytes) -> RunningSshd:
    directory.mkdir(parents=True, exist_ok=True)
    host_key = keygen(directory / "host_ed25519")
    client_key = keygen(directory / "id_ed25519")
    authorized = directory / "authorized_keys"
    authorized.write_bytes(client_key.with_suffix(".pub").read_bytes())
    repository = _repository(directory, content)
    port = free_port()
    config = directory / "sshd_config"
    config.write_text(f"""Port {port}
ListenAddress 127.0.0.1
HostKey {host_key}
AuthorizedKeysFile {authorized}
PidFile {directory / "sshd.pid"}
UsePAM no
StrictModes no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
LogLevel VERBOSE
""")
    PRIVSEP_DIR.mkdir(mode=0o755, exist_ok=True)
    log = directory / "sshd.log"
    with open(log, "wb") as output:
        process = subprocess.Popen([str(SSHD), "-D", "-e", "-f", str(config)], stdout=output,
                                   stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"sshd exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    else:
        process.kill()
        raise AssertionError(f"sshd did not listen: {log.read_text()}")
    return RunningSshd(port=port, user=getpass.getuser(), client_key=client_key, repository=repository,
                       content=content, process=process, log=log)


def _repository(directory: Path, content: bytes) -> Path:
    work, bare = directory / "work", directory / "repo.git"
    env = {**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com", "GIT_CONFIG_NOSYSTEM": "1",
           "HOME": str(directory)}
    subprocess.run(["git", "init", "-q", "-b", "main", str(work)], check=True, env=env)
    (work / "README").write_bytes(content)
    subprocess.run(["git", "-C", str(work), "add", "README"], check=True, env=env)
    subprocess.run(["git", "-C", str(work), "commit", "-q", "-m", "one"], check=True, env=env)
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True, env=env)
    return bare


@dataclass
class RunningAgent:
    socket: Path
    process: subprocess.Popen[bytes]

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=10)


def start_agent(directory: Path, *keys: Path) -> RunningAgent:
    """``ssh-agent -D -a SOCKET`` with ``keys`` added."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "agent.sock"
    process = subprocess.Popen(["ssh-agent", "-D", "-a", str(path)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not path.exists():
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            raise AssertionError("ssh-agent did not start")
        time.sleep(0.02)
    for key in keys:
        subprocess.run(["ssh-add", "-q", str(key)], check=True, env={**os.environ, "SSH_AUTH_SOCK": str(path)},
                       capture_output=True)
    return RunningAgent(socket=path, process=process)


def push_git_image(registry: RunningRegistry, debian_image: str, workdir: Path) -> str:
    """The Debian base with git and openssh-client (apt over plain http, through the proxy)."""
    context = write_context(workdir / "context", f"""FROM {debian_image}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    git openssh-client && rm -rf /var/lib/apt/lists/*
""")
    ref = registry.ref("ssh/git", "bookworm")
    run = run_executor(workdir / "work", context, "--destination", ref, "--compression-level", "1")
    assert run.returncode == 0, run.stderr
    return ref
