"""The bundled executor as PID 1 of a container whose root holds only /kaniko and the context.

It extracts each base image over / of that very container while it runs, so these prove the bundle
is self-contained (nothing is read from /usr, /lib or /etc, which the base replaces), that its own
environment never reaches RUN commands, and that it does a container init's job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.container.runtime import ContainerRoot, build_as_pid1, executor_args, namespace_init
from tests.contexts.helpers import commit_files, git, publish
from tests.contexts.servers import serve_git
from tests.support.debian import debian_rootfs_tar
from tests.support.executor import write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

# Variables only the executor's runtime knows; none may show up in a RUN command's environment.
RUNTIME_ONLY = ("LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
                "DOCKER_CONFIG", "LC_CTYPE", "container")


def env_lines(content: bytes | None) -> dict[str, str]:
    assert content is not None
    return dict(line.split("=", 1) for line in content.decode().splitlines() if "=" in line)


def assert_clean_env(content: bytes | None) -> None:
    env = env_lines(content)
    leaked = [name for name in env if name in RUNTIME_ONLY or name.startswith("PYTHON")]
    assert leaked == [], env


def base_file(name: str) -> bytes | None:
    with tarfile.open(debian_rootfs_tar()) as tar:
        try:
            member = tar.extractfile("./" + name)
        except KeyError:
            return None
        return member.read() if member else None


def manifest_exists(registry: RunningRegistry, ref: str) -> bool:
    result = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                            capture_output=True)
    return result.returncode == 0


@pytest.mark.slow
def test_debian_base_with_apt_get_as_pid1(tmp_path: Path, kaniko_bundle: Path, registry: RunningRegistry,
                                          debian_image: str) -> None:
    dockerfile = f"""FROM {debian_image}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello \\
    && rm -rf /var/lib/apt/lists/* && hello > /tmp/hello.txt
RUN rm /usr/lib/os-release && echo ID=lamina > /usr/lib/os-release && echo built > /etc/lamina-marker \\
    && rm -rf /usr/share/doc /etc/cron.daily
RUN env | sort > /tmp/env.txt && echo "$$" > /tmp/pid.txt
"""
    tree = build_as_pid1(tmp_path, kaniko_bundle, registry, "container/debian", dockerfile)
    assert tree["/tmp/hello.txt"].content == b"Hello, world!\n"
    assert tree["/usr/bin/hello"].kind == "file"
    assert tree["/usr/lib/os-release"].content == b"ID=lamina\n"
    assert tree["/etc/lamina-marker"].content == b"built\n"
    assert "/usr/share/doc" not in tree and "/etc/cron.daily" not in tree
    assert "/etc/debian_version" in tree  # the base is still there below
    assert_clean_env(tree["/tmp/env.txt"].content)
    # Nothing of the executor's container made it into the image.
    assert not [p for p in tree if p.split("/")[1] in ("kaniko", "workspace")]
    for name in ("etc/hosts", "etc/resolv.conf"):  # the runtime's mounts stayed out: the base's
        facts = tree.get("/" + name)
        assert (facts.content if facts else None) == base_file(name)


@pytest.mark.slow
def test_busybox_base_reaps_orphans_and_cleans_up_for_the_next_build(
        tmp_path: Path, kaniko_bundle: Path, registry: RunningRegistry, busybox_image: str) -> None:
    # A background child whose parent exits is re-parented to PID 1; after it ends, only PID 1
    # can reap it. The next RUN lists the zombies of the whole PID namespace.
    dockerfile = f"""FROM {busybox_image}
RUN (sleep 1 &) ; (sleep 1 &) ; echo started
RUN sleep 3; for f in /proc/[0-9]*/stat; do read -r l < $f && set -- $l && [ "$3" = Z ] && echo "$l"; done > /tmp/zombies.txt; true
RUN env | sort > /tmp/env.txt
"""
    context = write_context(tmp_path / "context", dockerfile)
    container = ContainerRoot.create(tmp_path, kaniko_bundle, context)
    first = registry.ref("container/busybox")
    result = container.run(executor_args(first, "--cleanup"))
    assert result.returncode == 0, result.stderr
    tree = pull_image(registry, first, tmp_path / "pulled-busybox").tree()
    assert tree["/tmp/zombies.txt"].content == b""
    assert tree["/etc/os-release"].content == b"NAME=lamina-busybox\n"
    assert_clean_env(tree["/tmp/env.txt"].content)
    # --cleanup left the container as it started, so it can build again.
    # (/var/run is left alone, as kaniko does: it is where a runtime mounts sockets.)
    assert container.entries() == ["dev", "etc", "kaniko", "proc", "sys", "var", "workspace"]
    assert set(os.listdir(container.root / "var")) <= {"run"}
    assert sorted(p.name for p in (container.root / "etc").iterdir()) == ["hosts", "resolv.conf"]

    (context / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo again > /tmp/again.txt\n")
    second = registry.ref("container/again")
    result = container.run(executor_args(second))
    assert result.returncode == 0, result.stderr
    tree = pull_image(registry, second, tmp_path / "pulled-again").tree()
    assert tree["/tmp/again.txt"].content == b"again\n"
    assert "/tmp/zombies.txt" not in tree and "/tmp/env.txt" not in tree


def test_failing_run_exit_code_is_the_containers(tmp_path: Path, kaniko_bundle: Path,
                                                 registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN exit 7\n")
    container = ContainerRoot.create(tmp_path, kaniko_bundle, context)
    ref = registry.ref("container/fails")
    result = container.run(executor_args(ref))
    assert result.returncode == 7, result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: Dockerfile:2: RUN 'exit 7' returned a non-zero code: 7"]
    assert not manifest_exists(registry, ref)


def test_sigterm_to_pid1_stops_the_build_promptly(tmp_path: Path, kaniko_bundle: Path,
                                                  registry: RunningRegistry, busybox_image: str) -> None:
    # The RUN puts a child in the background that ignores SIGTERM: the executor must still stop.
    dockerfile = f"""FROM {busybox_image}
RUN (trap '' TERM; sleep 600) & touch /tmp/started; sleep 600
"""
    context = write_context(tmp_path / "context", dockerfile)
    container = ContainerRoot.create(tmp_path, kaniko_bundle, context)
    ref = registry.ref("container/interrupted")
    process = container.start(executor_args(ref))
    init = namespace_init(process)
    deadline = time.monotonic() + 60
    while not (container.root / "tmp/started").exists():
        assert process.poll() is None, process.communicate()[1]
        assert time.monotonic() < deadline, "the RUN never started"
        time.sleep(0.1)
    sent = time.monotonic()
    os.kill(init, signal.SIGTERM)
    _, stderr = process.communicate(timeout=30)
    assert time.monotonic() - sent < 10
    assert process.returncode == 128 + signal.SIGTERM, stderr
    assert "error: build interrupted by SIGTERM; nothing was pushed" in stderr
    assert not manifest_exists(registry, ref)


@pytest.mark.slow
def test_multi_stage_as_pid1(tmp_path: Path, kaniko_bundle: Path, registry: RunningRegistry,
                             busybox_image: str, debian_image: str) -> None:
    # Each stage is extracted over / of the running container in turn; the last one ends on busybox.
    # On / the stage's files are copied out for COPY --from: owners and hardlinks must survive.
    dockerfile = f"""FROM {debian_image} AS tools
RUN sha256sum /etc/debian_version > /tmp/sum.txt && echo from-debian > /tmp/made.txt
RUN mkdir -p /opt/out/owned && echo linked > /opt/out/a && ln /opt/out/a /opt/out/b \\
    && chown -R 1234:2345 /opt/out/owned && chmod 0750 /opt/out/owned
FROM {busybox_image}
COPY --from=tools /tmp/made.txt /tmp/sum.txt /from-debian/
COPY --from=tools /opt/out /out/
RUN cat /from-debian/made.txt > /tmp/copied.txt
"""
    tree = build_as_pid1(tmp_path, kaniko_bundle, registry, "container/multistage", dockerfile)
    owned = tree["/out/owned"]
    assert (owned.kind, owned.uid, owned.gid, owned.mode) == ("dir", 1234, 2345, 0o750)
    rootfs = tmp_path / "pulled" / "bundle"  # umoci raw unpack: the root itself
    assert os.stat(rootfs / "out/a").st_ino == os.stat(rootfs / "out/b").st_ino
    assert tree["/tmp/copied.txt"].content == b"from-debian\n"
    assert tree["/from-debian/sum.txt"].content.endswith(b"  /etc/debian_version\n")
    assert "/etc/debian_version" not in tree and tree["/bin/busybox"].kind == "file"


@pytest.mark.slow
def test_git_context_with_the_bundled_git_only(tmp_path: Path, kaniko_bundle: Path,
                                               registry: RunningRegistry,
                                               busybox_image: str) -> None:
    # The container holds /kaniko and nothing else: the clone must use the bundle's git, its
    # http helper and its loader, never the host's.
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit_files(work, "first", {"Dockerfile": f"FROM {busybox_image}\nCOPY hello.txt /hello.txt\n",
                                 "hello.txt": "cloned by the bundled git\n"})
    served = tmp_path / "served"
    publish(work, served / "app.git")
    empty_context = tmp_path / "empty"
    empty_context.mkdir()
    container = ContainerRoot.create(tmp_path, kaniko_bundle, empty_context)
    assert container.entries() == ["kaniko"]
    ref = registry.ref("container/git-context")
    with serve_git(served) as server:
        result = container.run(["/kaniko/executor", "--context", server.context("app.git", "refs/heads/main"),
                                "--destination", ref], env={"GIT_PULL_METHOD": "http"})
    assert result.returncode == 0, result.stderr
    tree = pull_image(registry, ref, tmp_path / "pulled").tree()
    assert tree["/hello.txt"].content == b"cloned by the bundled git\n"
