"""RUN --mount=type=ssh with --ssh (buildx's): an ssh-agent socket for the command only, reaching
Debian's OpenSSH on loopback; the keys and the socket never reach a layer, the config or a log."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from executor.cli.main import parse_command_line
from executor.errors import UsageError
from tests.commands.support import build, build_and_pull, every_blob, layer_paths, pushed
from tests.support.registry import RunningRegistry
from tests.support.sshd import RunningAgent, RunningSshd, key_material, keygen, start_agent, start_sshd

README = b"cloned over ssh 4b7e91\n"
# The client in the RUN trusts the loopback sshd's fresh host key, and says nothing about it.
GIT_SSH = "ssh -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSshd]:
    server = start_sshd(tmp_path_factory.mktemp("sshd"), README)
    yield server
    server.stop()


@pytest.fixture(scope="module")
def agent(sshd: RunningSshd, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningAgent]:
    running = start_agent(tmp_path_factory.mktemp("agent"), sshd.client_key)
    yield running
    running.stop()


@pytest.mark.slow
def test_git_clone_over_ssh_with_the_agent_and_with_a_key_file(
        tmp_path: Path, registry: RunningRegistry, git_ssh_image: str, sshd: RunningSshd,
        agent: RunningAgent) -> None:
    url = sshd.url()
    dockerfile = f"""\
FROM {git_ssh_image}
ENV GIT_SSH_COMMAND="{GIT_SSH}"
RUN --mount=type=ssh git clone -q {url} /src-agent \\
    && echo "$SSH_AUTH_SOCK" > /agent-env && stat -c '%F %a %u' "$SSH_AUTH_SOCK" > /agent-socket
RUN --mount=type=ssh,id=mykey,target=/tmp/key.sock,mode=0660,uid=1,gid=2 git clone -q {url} /src-key \\
    && echo "$SSH_AUTH_SOCK" > /key-env && stat -c '%F %a %u %g' /tmp/key.sock > /key-socket
RUN ls -a /run /tmp > /after && env > /env-after
"""
    run, image = build_and_pull(tmp_path, registry, dockerfile, "--network", "host", "--ssh", "default",
                                "--ssh", f"mykey={sshd.client_key}",
                                env={"SSH_AUTH_SOCK": str(agent.socket)})
    tree = image.tree()
    assert tree["/src-agent/README"].content == README
    assert tree["/src-key/README"].content == README
    # BuildKit's default target and mode, SSH_AUTH_SOCK naming it; target=, mode=, uid=, gid= kept
    assert tree["/agent-env"].content == b"/run/buildkit/ssh_agent.0\n"
    assert tree["/agent-socket"].content == b"socket 600 0\n"
    assert tree["/key-env"].content == b"/tmp/key.sock\n"
    assert tree["/key-socket"].content == b"socket 660 1 2\n"
    assert b"buildkit" not in tree["/after"].content and b"key.sock" not in tree["/after"].content
    assert b"SSH_AUTH_SOCK" not in tree["/env-after"].content
    # Neither socket nor its mount point is in any layer; the key is in no blob and no log.
    paths = layer_paths(image)
    assert not [p for p in paths if p.startswith("run/buildkit") or p.endswith("key.sock")], paths
    blobs = every_blob(image)
    for material in key_material(sshd.client_key):
        assert not [blob for blob in blobs if material in blob]
        assert material.decode("latin-1") not in run.stdout + run.stderr


def test_the_socket_is_there_for_the_command_only(tmp_path: Path, registry: RunningRegistry,
                                                  busybox_image: str) -> None:
    key = keygen(tmp_path / "id_ed25519")
    dockerfile = f"""\
FROM {busybox_image}
RUN mkdir -p -m 1777 /tmp
USER 1000:1000
RUN --mount=type=ssh,id=deploy,uid=1000 [ -S "$SSH_AUTH_SOCK" ] && stat -c '%a %u' "$SSH_AUTH_SOCK" > /tmp/mode
RUN --mount=type=ssh,id=other,required=false echo "$SSH_AUTH_SOCK" > /tmp/optional \\
    && [ ! -e /run/buildkit/ssh_agent.0 ]
"""
    _, image = build_and_pull(tmp_path, registry, dockerfile, "--ssh", f"deploy={key}")
    tree = image.tree()
    assert tree["/tmp/mode"].content == b"600 1000\n"
    # an optional id no --ssh forwards: no socket, but SSH_AUTH_SOCK as BuildKit sets it
    assert tree["/tmp/optional"].content == b"/run/buildkit/ssh_agent.0\n"
    assert not [p for p in layer_paths(image) if p.startswith("run")]
    for material in key_material(key):
        assert not [blob for blob in every_blob(image) if material in blob]


def test_an_id_not_forwarded_is_an_error(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    run, destination = build(tmp_path, registry,
                             f"FROM {busybox_image}\nRUN true\nRUN --mount=type=ssh,id=deploy true\n")
    assert run.returncode != 0
    assert len(run.error_lines) == 1, run.stderr
    line = run.error_lines[0]
    assert "Dockerfile:3" in line and "ssh agent 'deploy' not forwarded" in line and "--ssh deploy" in line
    assert "Traceback" not in run.stderr
    assert not pushed(registry, destination)


def test_ssh_flags_are_checked_before_the_build(tmp_path: Path) -> None:
    key = keygen(tmp_path / "id_ed25519")
    locked = tmp_path / "locked"
    import subprocess

    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "passphrase", "-f", str(locked)], check=True)
    base = ["--no-push", "--context", str(tmp_path)]
    options = parse_command_line([*base, "--ssh", f"k={key}"], {}).options
    assert [(s.id, s.socket, s.keys) for s in options.source.ssh] == [("k", None, (key,))]
    for argv, env, fragment in (
            (["--ssh", "default"], {}, "SSH_AUTH_SOCK is not set"),
            (["--ssh", f"k={locked}"], {}, "protected by a passphrase"),
            (["--ssh", f"k={tmp_path / 'absent'}"], {}, "No such file"),
            (["--ssh", f"k={key.with_suffix('.pub')}"], {}, "not a private key"),
            (["--ssh", f"k={key}", "--ssh", f"k={key}"], {}, "given already")):
        with pytest.raises(UsageError, match=fragment):
            parse_command_line([*base, *argv], env)
