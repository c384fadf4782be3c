"""A RUN step cannot reach the executor: the executor's bundle imported as an image and run as
kaniko users run it (``docker run``, Docker's default capabilities, no --privileged), with real
push credentials mounted at /kaniko/.docker/config.json, builds a Dockerfile whose RUN steps try
every way at the kaniko dir and the executor's processes. Each attempt fails, the build finishes,
and no credential is in any pushed blob, the config or the log."""

from __future__ import annotations

import base64
import json
import secrets
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.container.images import layer_files, pushed_blobs, run_executor_image
from tests.support.docker import RunningDocker
from tests.support.executor import write_context
from tests.support.registry import RunningRegistry, run_registry

pytestmark = [pytest.mark.docker, pytest.mark.slow]

ATTEMPTS = """\
RUN cat /kaniko/.docker/config.json > /tmp/cat.txt 2>&1; ls -la /kaniko > /tmp/ls.txt 2>&1; \
    cp -r /kaniko /tmp/copy 2>/tmp/cp.txt; tar cf /tmp/kaniko.tar /kaniko 2>/tmp/tar.txt; \
    find /kaniko > /tmp/find.txt 2>&1; true
RUN echo evil >> /kaniko/executor 2>/tmp/write.txt; echo evil > /kaniko/bin/evil 2>>/tmp/write.txt; \
    rm -f /kaniko/executor 2>>/tmp/write.txt; mv /kaniko/lib /tmp/lib 2>>/tmp/write.txt; true
RUN for p in /proc/[0-9]*; do cat $p/environ; head -c 64 $p/mem; done > /tmp/proc.txt 2>&1; \
    /ptrace $(for p in /proc/[0-9]*; do head -c 7 $p/cmdline | grep -qs '^/kaniko' && echo ${p#/proc/}; done) \
        > /tmp/ptrace.txt 2>&1; \
    kill -0 1 2>/tmp/kill.txt && echo signalled >> /tmp/kill.txt; true
RUN (sleep 2; cat /kaniko/.docker/config.json /proc/1/environ > /tmp/late.txt 2>&1; \
     ls /kaniko >> /tmp/late.txt 2>&1) > /dev/null 2>&1 & sleep 3
RUN cat /tmp/late.txt > /tmp/late-seen.txt; true
"""


@pytest.fixture(scope="module")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    password = "pw-" + secrets.token_hex(12)
    with run_registry(tmp_path_factory.mktemp("private"), tls=True, username="builder",
                      password=password) as running:
        yield running


def _blobs(registry: RunningRegistry, repository: str, tag: str) -> list[bytes]:
    import ssl
    context = ssl._create_unverified_context()  # the test registry's own certificate
    auth = base64.b64encode(f"{registry.username}:{registry.password}".encode()).decode()

    def get(path: str, accept: str = "") -> bytes:
        request = urllib.request.Request(f"{registry.url}/v2/{repository}/{path}",
                                         headers={"Authorization": f"Basic {auth}", "Accept": accept})
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            return response.read()

    manifest = get(f"manifests/{tag}", "application/vnd.docker.distribution.manifest.v2+json")
    document = json.loads(manifest)
    return [manifest, *(get(f"blobs/{d['digest']}") for d in [document["config"], *document["layers"]])]


def test_run_steps_cannot_reach_credentials_bundle_or_executor(
        tmp_path: Path, docker: RunningDocker, executor_image: str, registry: RunningRegistry,
        private_registry: RunningRegistry, busybox_image: str, programs: dict[str, bytes]) -> None:
    auth = base64.b64encode(f"builder:{private_registry.password}".encode()).decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {private_registry.host: {"auth": auth}}}))
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nCOPY --chmod=755 ptrace /ptrace\n"
                            + ATTEMPTS, {"ptrace": programs["ptrace"]})
    destination = private_registry.ref("confined/app")
    result = docker.run("run", "--rm", "--network", "host", "-v", f"{context}:/workspace:ro",
                        "-v", f"{config}:/kaniko/.docker/config.json:ro",
                        "-e", "GIT_TOKEN=token-" + private_registry.password, executor_image,
                        "--context", "dir:///workspace", "--destination", destination,
                        "--skip-tls-verify", "--require-confinement", check=False, timeout=300)
    log = result.stdout + result.stderr
    assert result.returncode == 0, log[-3000:]
    assert "confined by Landlock" in log
    blobs = _blobs(private_registry, "confined/app", "latest")
    files = layer_files(blobs)
    for secret in (private_registry.password, auth):
        assert secret not in log
        assert not any(secret.encode() in blob for blob in blobs)  # manifest, config, layers
    denied = {name: files.get(f"tmp/{name}", b"").decode(errors="replace") for name in
              ("cat.txt", "ls.txt", "tar.txt", "find.txt", "write.txt", "kill.txt", "ptrace.txt")}
    for name, text in denied.items():
        assert "denied" in text.lower() or "not permitted" in text.lower(), (name, text)
    assert "signalled" not in denied["kill.txt"] and "ATTACHED" not in denied["ptrace.txt"]
    assert "tmp/kaniko.tar" not in files or b"config.json" not in files["tmp/kaniko.tar"]
    assert not any(name.startswith("tmp/copy") for name in files)  # cp made nothing
    assert denied["ptrace.txt"].startswith("1 denied")  # the executor, PID 1, was among them
    proc = files.get("tmp/proc.txt", b"")
    assert b"DOCKER_CONFIG" not in proc and b"token-" not in proc  # no executor process's environ
    late = files.get("tmp/late-seen.txt", b"").decode(errors="replace")
    assert "Permission denied" in late and "auths" not in late  # the background process, later


def test_network_none_cannot_reach_a_loopback_server_the_run_before_can(
        tmp_path: Path, docker: RunningDocker, executor_image: str, registry: RunningRegistry,
        busybox_image: str, programs: dict[str, bytes]) -> None:
    port = registry.host.rsplit(":", 1)[1]  # the registry: a TCP server on loopback
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nCOPY --chmod=755 probe /probe\n"
                            f"RUN /probe 127.0.0.1 {port} > /tmp/default.txt\n"
                            f"RUN --network=none /probe 127.0.0.1 {port} > /tmp/none.txt\n",
                            {"probe": programs["probe"]})
    code, log = run_executor_image(docker, executor_image, context, "--destination",
                              registry.ref("confined/network"))
    assert code == 0, log[-2000:]
    tree = layer_files(pushed_blobs(registry, "confined/network"))
    assert tree["tmp/default.txt"] != b"unreachable\n"  # the registry answered
    assert tree["tmp/none.txt"] == b"unreachable\n"


def test_without_landlock_a_warning_and_require_confinement_refuses(
        tmp_path: Path, docker: RunningDocker, executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN echo built > /tmp/built\n")
    switch = {"LAMINA_TEST_NO_LANDLOCK": "1"}
    code, log = run_executor_image(docker, executor_image, context, "--destination",
                              registry.ref("confined/unconfined"), env=switch)
    assert code == 0, log[-2000:]
    assert [line for line in log.splitlines() if "not confined" in line] == [
        "WARNING RUN steps are not confined: this kernel offers no Landlock, so they can read and "
        "change /kaniko (credentials, the executor); --require-confinement refuses to build instead"]
    code, log = run_executor_image(docker, executor_image, context, "--destination",
                              registry.ref("confined/refused"), "--require-confinement", env=switch)
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert code != 0 and len(errors) == 1 and "--require-confinement" in errors[0], log[-2000:]
    assert "Traceback" not in log and "RUN echo" not in log  # refused before building anything


def test_a_run_that_changes_the_bundle_stops_the_build(
        tmp_path: Path, docker: RunningDocker, executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    # unconfined (no Landlock), the RUN can write to the executor: the seal notices
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN echo evil >> /kaniko/bin/evil\n"
                            "RUN echo never > /tmp/never\n")
    destination = registry.ref("confined/tampered")
    code, log = run_executor_image(docker, executor_image, context, "--destination", destination,
                              env={"LAMINA_TEST_NO_LANDLOCK": "1"})
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert code != 0 and errors == ["error: the executor's own files under /kaniko changed during a RUN "
                                    "(/kaniko/bin and 1 more); stopping: nothing is pushed"], log[-2000:]
    assert "echo never" not in log
    request = urllib.request.Request(f"{registry.url}/v2/confined/tampered/manifests/latest")
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=30)


def test_a_run_creating_an_entry_directly_in_root_fails_with_a_hint(
        tmp_path: Path, docker: RunningDocker, executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN mkdir /app\n")
    code, log = run_executor_image(docker, executor_image, context, "--destination", registry.ref("confined/app"))
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert code == 1 and errors == ["error: Dockerfile:2: RUN 'mkdir /app' returned a non-zero code: 1"]
    assert "WARNING RUN steps on / are confined: they cannot create entries directly in /" in log
    code, log = run_executor_image(docker, executor_image, context, "--destination", registry.ref("confined/app"),
                              "--confine-run=false")  # kaniko's behaviour, on request
    assert code == 0 and "not confined (--confine-run=false)" in log, log[-2000:]
