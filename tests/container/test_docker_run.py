"""The executor image as kaniko users run it: lamina builds Dockerfile.executor, pushes it, the tests'
dockerd pulls it, and each build is ``docker run --rm --network host -v CONTEXT:/workspace IMAGE
--context dir:///workspace --destination REGISTRY/...`` with Docker's default capabilities, no
--privileged and no other mount. The executor is PID 1 of that container and extracts each base
image over its own /.

Where the same Dockerfile also goes through ``docker build`` (BuildKit), the two images are pulled
back and compared file by file and config key by key (tests/differential/compare.py).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import tarfile
import time
from pathlib import Path
from typing import Any

import pytest

from tests.container.images import (
    docker_run_args,
    pushed_blobs,
    run_executor_image,
    start_executor_image,
    wait_for_log,
)
from tests.contexts.helpers import commit_files, git, manifest_exists, publish
from tests.contexts.servers import serve_git
from tests.differential.compare import describe, differences
from tests.support.docker import RunningDocker, docker_build
from tests.support.executor import write_context
from tests.support.readback import PulledImage, pull_image
from tests.support.registry import RunningRegistry

pytestmark = [pytest.mark.docker, pytest.mark.slow]

# Variables only the executor's runtime knows; none may show up in a RUN command's environment.
RUNTIME_ONLY = ("LD_LIBRARY_PATH", "PYTHONHOME", "PYTHONPATH", "SSL_CERT_FILE", "SSL_CERT_DIR",
                "DOCKER_CONFIG", "USER", "LC_CTYPE", "container")


def build_both(docker: RunningDocker, image: str, registry: RunningRegistry, workdir: Path,
               name: str, dockerfile: str, files: dict[str, str | bytes] | None = None
               ) -> tuple[PulledImage, PulledImage]:
    """``dockerfile`` built by the executor image under ``docker run`` and by ``docker build``, both
    pushed and pulled back: (lamina's, docker's)."""
    context = write_context(workdir / "context", dockerfile, files)
    ours, theirs = registry.ref(f"docker-run/{name}"), registry.ref(f"docker-run/{name}-docker")
    code, log = run_executor_image(docker, image, context, "--destination", ours)
    assert code == 0, log[-3000:]
    docker_build(docker, context, theirs, push=True)
    return (pull_image(registry, ours, workdir / "pulled-lamina"),
            pull_image(registry, theirs, workdir / "pulled-docker"))


def assert_same(ours: PulledImage, theirs: PulledImage, skip: tuple[str, ...] = ()) -> None:
    found = differences(ours, theirs, skip=skip)
    assert found == {}, describe(found, "docker")


def events(log: str) -> list[dict[str, Any]]:
    """The structured events of a ``--log-format=json`` run (one object a line)."""
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return [entry for entry in entries if "event" in entry]


def error_lines(log: str) -> list[str]:
    return [line for line in log.splitlines() if line.startswith("error:")]


def test_the_image_holds_only_kaniko(built_executor_image: str, registry: RunningRegistry) -> None:
    repository, tag = built_executor_image.split("/", 1)[1].rsplit(":", 1)
    _, config, *layers = pushed_blobs(registry, repository, tag)
    members: dict[str, tarfile.TarInfo] = {}
    for layer in layers:
        with tarfile.open(fileobj=io.BytesIO(layer), mode="r:gz") as tar:
            members.update((member.name, member) for member in tar)
    assert sorted({name.split("/")[0] for name in members}) == ["kaniko", "workspace"]
    run_config = json.loads(config)["config"]
    assert run_config["Entrypoint"] == ["/kaniko/executor"] and run_config["WorkingDir"] == "/workspace"
    # git:// contexts: the bundle carries git and its http(s) helpers (kaniko has go-git built in)
    assert members["kaniko/bin/git"].isfile()
    assert members["kaniko/libexec/git-core/git-remote-https"].isfile()


# apt's and dpkg's logs carry the time they were written; everything else must be the same.
APT_LOGS = ("/var/log/apt/history.log", "/var/log/apt/term.log", "/var/log/dpkg.log")


def test_debian_base_with_apt_get_same_as_docker_build(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        debian_image: str) -> None:
    # apt reaches Debian's mirror over plain http (the base's sources.list), through this machine's
    # proxy: the base needs no CA of the proxy's, as pip does in the Python base.
    dockerfile = f"""FROM {debian_image}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends hello \\
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin && hello > /usr/local/share/hello.txt
RUN rm /usr/lib/os-release && echo ID=lamina > /usr/lib/os-release && rm -rf /usr/share/doc /etc/cron.daily
RUN env | sort > /usr/local/share/env.txt
"""
    ours, theirs = build_both(docker, built_executor_image, registry, tmp_path, "debian", dockerfile)
    tree = ours.tree()
    assert tree["/usr/local/share/hello.txt"].content == b"Hello, world!\n"
    assert tree["/usr/bin/hello"].kind == "file"
    assert tree["/usr/lib/os-release"].content == b"ID=lamina\n"
    assert "/usr/share/doc" not in tree and "/etc/cron.daily" not in tree
    env = dict(line.split("=", 1) for line in tree["/usr/local/share/env.txt"].content.decode().splitlines())
    assert [name for name in env if name in RUNTIME_ONLY or name.startswith("PYTHON")] == [], env
    # The executor's container (/kaniko, /workspace, the runtime's /etc/hosts) stayed out: the image
    # is docker build's, file by file.
    assert_same(ours, theirs, skip=APT_LOGS)


def test_busybox_base_reaps_orphans_same_as_docker_build(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    # A background child whose parent exits is re-parented to PID 1 (the executor here); after it
    # ends, only PID 1 can reap it. The next RUN lists the zombies of the whole PID namespace.
    dockerfile = f"""FROM {busybox_image}
COPY greeting.txt /usr/share/greeting.txt
RUN (sleep 1 &) ; (sleep 1 &) ; echo started
RUN sleep 2; for f in /proc/[0-9]*/stat; do read -r l < $f && set -- $l && [ "$3" = Z ] && echo "$l"; done > /tmp/zombies.txt; true
ENV GREETING=hello
WORKDIR /srv
CMD ["cat", "/usr/share/greeting.txt"]
"""
    ours, theirs = build_both(docker, built_executor_image, registry, tmp_path, "busybox", dockerfile,
                              {"greeting.txt": "hello from the context\n"})
    tree = ours.tree()
    assert tree["/tmp/zombies.txt"].content == b""
    assert tree["/usr/share/greeting.txt"].content == b"hello from the context\n"
    assert tree["/etc/os-release"].content == b"NAME=lamina-busybox\n"  # the base's second layer
    assert_same(ours, theirs)


def test_cleanup_leaves_the_container_as_it_started_so_it_builds_again(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN echo first > /tmp/first.txt\n")
    destination = registry.ref("docker-run/cleanup")
    name = f"lamina-cleanup-{os.getpid()}"
    # A private cgroup namespace (Docker's default on cgroup v2) hides the "docker" in /proc/1/cgroup:
    # the runtime's /.dockerenv is then what tells the executor it runs in a container.
    args = docker_run_args(built_executor_image, context, "--destination", destination, "--cleanup")
    try:
        docker.run("run", "--cgroupns", "private", "--name", name, *args)
        # Next to the image, the container holds only the executor's scratch directories and /var,
        # the parent of /var/run, which is left alone as kaniko does; nothing of the runtime's is gone.
        changes = docker.run("diff", name).stdout.splitlines()
        assert sorted(c for c in changes if not c.split()[1].startswith("/kaniko")) == ["A /var"], changes
        # the same container again (`docker start` reruns its entrypoint), on a changed context
        (context / "Dockerfile").write_text(f"FROM {busybox_image}\nRUN echo again > /tmp/again.txt\n")
        docker.run("start", "--attach", name)
    finally:
        docker.run("rm", "--force", name, check=False)
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/tmp/again.txt"].content == b"again\n" and "/tmp/first.txt" not in tree


def test_multi_stage_copy_from_same_as_docker_build(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
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
    ours, theirs = build_both(docker, built_executor_image, registry, tmp_path, "multistage", dockerfile)
    tree = ours.tree()
    owned = tree["/out/owned"]
    assert (owned.kind, owned.uid, owned.gid, owned.mode) == ("dir", 1234, 2345, 0o750)
    assert os.stat(ours.rootfs / "out/a").st_ino == os.stat(ours.rootfs / "out/b").st_ino
    assert tree["/tmp/copied.txt"].content == b"from-debian\n"
    assert "/etc/debian_version" not in tree and tree["/bin/busybox"].kind == "file"
    assert_same(ours, theirs)


def test_git_context_cloned_by_the_bundled_git(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    # kaniko's --context git://HOST/REPO#REF; the container holds /kaniko and nothing else, so the
    # clone uses the bundle's git, its http helper and its loader.
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    commit_files(work, "first", {"Dockerfile": f"FROM {busybox_image}\nCOPY hello.txt /hello.txt\n",
                                 "hello.txt": "cloned by the bundled git\n"})
    publish(work, tmp_path / "served" / "app.git")
    destination = registry.ref("docker-run/git-context")
    with serve_git(tmp_path / "served") as server:
        code, log = run_executor_image(docker, built_executor_image,
                                       server.context("app.git", "refs/heads/main"),
                                       "--destination", destination, env={"GIT_PULL_METHOD": "http"})
    assert code == 0, log[-3000:]
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/hello.txt"].content == b"cloned by the bundled git\n"


def test_second_build_reuses_the_cached_run_layer(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\n"
                            "RUN cat /proc/sys/kernel/random/uuid > /tmp/uuid.txt\n")
    flags = ("--cache=true", "--cache-repo", f"{registry.host}/docker-run/cache", "--reproducible",
             "--log-format=json")
    first, second = registry.ref("docker-run/cached", "one"), registry.ref("docker-run/cached", "two")
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", first, *flags)
    assert code == 0, log[-3000:]
    assert [e["event"] for e in events(log) if e["event"] in ("run.process", "step.cached")] == ["run.process"]
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", second, *flags)
    assert code == 0, log[-3000:]
    assert [e["event"] for e in events(log) if e["event"] in ("run.process", "step.cached")] == ["step.cached"]
    [hit] = [e for e in events(log) if e["event"] == "step.cached"]
    assert hit["line"] == 2 and hit["layer"] is not None
    one, two = pull_image(registry, first, tmp_path / "one"), pull_image(registry, second, tmp_path / "two")
    assert one.manifest_digest == two.manifest_digest  # the same image: the uuid was not drawn again
    assert hit["layer"] == one.manifest["layers"][-1]["digest"]


def test_a_failing_run_is_the_containers_exit_code_and_nothing_is_pushed(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN exit 3\n")
    destination = registry.ref("docker-run/fails")
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", destination)
    assert code == 3, log[-3000:]  # the command's own (kaniko exits 1 on any error), as README says
    assert error_lines(log) == ["error: Dockerfile:2: RUN 'exit 3' returned a non-zero code: 3"]
    assert "Traceback" not in log and not manifest_exists(registry, destination)


def test_docker_stop_ends_the_build_with_143_and_pushes_nothing(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    # The RUN puts a child in the background that ignores SIGTERM: the executor must still stop.
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\n"
                            "RUN (trap '' TERM; sleep 600) & echo started; sleep 600\n")
    destination = registry.ref("docker-run/stopped")
    name = f"lamina-stop-{os.getpid()}"
    log = tmp_path / "log"
    process = start_executor_image(docker, name, built_executor_image, context,
                                   "--destination", destination, log=log)
    try:
        wait_for_log(log, "started", process)
        sent = time.monotonic()
        # SIGTERM, then SIGKILL (137) if the container is still running 30 s later
        docker.run("stop", "--time", "30", name, timeout=60)
        assert process.wait(timeout=60) == 128 + signal.SIGTERM, log.read_text()[-3000:]
        assert time.monotonic() - sent < 10
    finally:
        if process.poll() is None:
            docker.run("rm", "-f", name, check=False)
            process.wait(timeout=60)
    output = log.read_text()
    assert error_lines(output) == ["error: build interrupted by SIGTERM; nothing was pushed"], output[-3000:]
    assert not manifest_exists(registry, destination)


# Docker's default capabilities hold no CAP_SYS_ADMIN, so a RUN gets no mount namespace: its mounts
# are placed in the container's / for the command's time (executor/sandbox/placement.py).
def test_run_mount_cache_under_default_capabilities(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\n"
                            "RUN --mount=type=cache,target=/tmp/cache echo cached > /tmp/cache/x "
                            "&& cp /tmp/cache/x /tmp/seen.txt\n"
                            "RUN --mount=type=cache,target=/tmp/cache cp /tmp/cache/x /tmp/seen-again.txt\n")
    destination = registry.ref("docker-run/run-mount")
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", destination)
    assert code == 0, log[-3000:]
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/tmp/seen.txt"].content == b"cached\n"
    assert tree["/tmp/seen-again.txt"].content == b"cached\n"  # the second RUN found the first's write
    assert [path for path in tree if path.startswith("/tmp/cache")] == []


RUN_MOUNT_SECRET = b"lamina-container-secret-5b7e91d0"
# The secret's RUN leaves a process behind (in a session of its own) that would put the secret back
# where it was placed, and elsewhere, after the command ended; the next RUN gives it the time.
RUN_MOUNTS = """FROM {base}
WORKDIR /out
RUN --mount=type=bind,source=dir,target=/src cat /src/one.txt > /out/one.copy
RUN --mount=type=secret,id=token sha256sum /run/secrets/token | cut -c1-64 > /out/token-hash \\
    && stat -c '%a %u' /run/secrets/token > /out/token-mode \\
    && S=$(cat /run/secrets/token) && {{ setsid sh -c "sleep 2; echo $S > /run/secrets/token; echo $S > /tmp/late" & }}
RUN sleep 4
RUN --mount=type=tmpfs,target=/tmp echo gone > /tmp/f && cat /tmp/f > /out/tmpfs.copy
RUN <<EOF
#!/bin/sh
echo from a heredoc script > /out/heredoc.txt
EOF
"""


def test_run_mount_bind_secret_tmpfs_under_default_capabilities(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    secret = tmp_path / "token"
    secret.write_bytes(RUN_MOUNT_SECRET)
    context = write_context(tmp_path / "context", RUN_MOUNTS.format(base=busybox_image), {"dir/one.txt": "one\n"})
    destination = registry.ref("docker-run/run-mounts")
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", destination,
                                   "--secret", "id=token,src=/kaniko/test-secret",
                                   volumes={secret: "/kaniko/test-secret"})
    assert code == 0, log[-3000:]
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/out/one.copy"].content == b"one\n"
    assert tree["/out/token-hash"].content.decode().strip() == hashlib.sha256(RUN_MOUNT_SECRET).hexdigest()
    assert tree["/out/token-mode"].content == b"400 0\n"
    assert tree["/out/tmpfs.copy"].content == b"gone\n"
    assert tree["/out/heredoc.txt"].content == b"from a heredoc script\n"
    # nothing of the mounts, their mount points or the leftover process reached the image
    assert [p for p in tree if p.startswith(("/src", "/run", "/dev/", "/tmp/"))] == []
    repository, tag = destination.split("/", 1)[1].rsplit(":", 1)
    _, _, *layers = pushed_blobs(registry, repository, tag)
    for layer in layers:
        assert RUN_MOUNT_SECRET not in layer and RUN_MOUNT_SECRET not in gzip.decompress(layer)
    assert RUN_MOUNT_SECRET.decode() not in log


LEFTOVER_THIEF = """FROM {base}
RUN (sh -c 'while :; do cat /run/secrets/token >> /tmp/stolen 2>/dev/null; sleep 0.05; done' \\
     >/dev/null 2>&1 &) ; echo started
RUN --mount=type=secret,id=token sha256sum /run/secrets/token > /tmp/out-hash && sleep 0.5
RUN sleep 0.5; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < $f; echo; done | grep -c 'secrets/[t]oken >>' > /tmp/live-loops; true
"""


def test_a_process_left_by_an_earlier_run_never_sees_a_later_secret(
        tmp_path: Path, docker: RunningDocker, built_executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    """As in docker build, what a RUN leaves running ends with it: a loop started by one step
    cannot read the secret a later step's mount places in / (there is no mount namespace under
    Docker's default capabilities)."""
    secret = tmp_path / "token"
    secret.write_bytes(RUN_MOUNT_SECRET)
    context = write_context(tmp_path / "context", LEFTOVER_THIEF.format(base=busybox_image))
    destination = registry.ref("docker-run/leftover-thief")
    code, log = run_executor_image(docker, built_executor_image, context, "--destination", destination,
                                   "--secret", "id=token,src=/kaniko/test-secret",
                                   volumes={secret: "/kaniko/test-secret"})
    assert code == 0, log[-3000:]
    tree = pull_image(registry, destination, tmp_path / "pulled").tree()
    assert tree["/tmp/live-loops"].content == b"0\n"
    assert tree.get("/tmp/stolen") is None or tree["/tmp/stolen"].content == b""
    assert tree["/tmp/out-hash"].content.split()[0].decode() == hashlib.sha256(RUN_MOUNT_SECRET).hexdigest()
    repository, tag = destination.split("/", 1)[1].rsplit(":", 1)
    _, _, *layers = pushed_blobs(registry, repository, tag)
    for layer in layers:
        assert RUN_MOUNT_SECRET not in gzip.decompress(layer)
