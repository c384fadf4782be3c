"""The executor as users run it: an image holding only /kaniko, run with ``docker run`` and Docker's
defaults. Two such images: the bundle that scripts/bundle-kaniko-dir makes from the Python running
the tests, imported into the tests' dockerd (quick to make; for the confinement and hostile tests),
and the image lamina itself builds from Dockerfile.executor and pushes, pulled as a user pulls it
(for the tests of the user's path, test_docker_run.py)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.support.docker import DOCKER, RunningDocker
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

REPO = Path(__file__).resolve().parents[2]
BUNDLE_SCRIPT = REPO / "scripts" / "bundle-kaniko-dir"
# What Dockerfile.executor sets with ENV (as kaniko's image does).
IMAGE_ENV = {
    "PATH": "/usr/local/bin:/kaniko",
    "HOME": "/root",
    "USER": "root",
    "SSL_CERT_DIR": "/kaniko/ssl/certs",
    "DOCKER_CONFIG": "/kaniko/.docker/",
}
HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

FAST_LAYERS = ("--compression-level", "1")

# What Dockerfile.executor COPYs from the repository.
SOURCES = ("Dockerfile.executor", "pyproject.toml", "README.md", "executor", "snapshot",
           "scripts/bundle-kaniko-dir")


@pytest.fixture(scope="session")
def executor_image(docker: RunningDocker, kaniko_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundle as a FROM-scratch image holding only /kaniko, as Dockerfile.executor makes it."""
    tarball = tmp_path_factory.mktemp("image") / "kaniko.tar"
    subprocess.run(["tar", "-C", str(kaniko_bundle.parent), "-cf", str(tarball), "kaniko"], check=True)
    changes = [f"ENV {key}={value}" for key, value in IMAGE_ENV.items()]
    args = [arg for change in [*changes, 'ENTRYPOINT ["/kaniko/executor"]'] for arg in ("--change", change)]
    docker.run("import", *args, str(tarball), "lamina-executor:confinement", timeout=600)
    return "lamina-executor:confinement"


@pytest.fixture(scope="session")
def built_executor_image(docker: RunningDocker, registry: RunningRegistry, debian_image: str,
                         tmp_path_factory: pytest.TempPathFactory) -> str:
    """``REGISTRY/lamina/executor:test``: Dockerfile.executor's ``executor`` target built by lamina
    (sandbox mode) from the repository, pushed, and ``docker pull``ed into the tests' dockerd."""
    workdir = tmp_path_factory.mktemp("executor-image")
    base = python_base(registry, debian_image, workdir / "python")
    ref = registry.ref("lamina/executor", "test")
    # --skip-unused-stages: the debug stage is not needed. gzip's fastest level: every layer of the
    # builder stage is compressed too, though none is pushed, and at the default level that is
    # most of the build.
    run = run_executor(workdir / "build", repository_context(workdir / "repo"),
                       "--dockerfile", "Dockerfile.executor", "--build-arg", f"PYTHON_IMAGE={base}",
                       "--target", "executor", "--skip-unused-stages", *FAST_LAYERS,
                       "--destination", ref, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    docker.run("pull", "--quiet", ref, timeout=300)
    return ref


def make_bundle(dest: Path) -> Path:
    """Run scripts/bundle-kaniko-dir with the Python running the tests; returns ``dest/kaniko``."""
    result = subprocess.run([sys.executable, str(BUNDLE_SCRIPT), str(dest)], capture_output=True,
                            text=True, cwd=REPO)
    if result.returncode != 0:
        raise AssertionError(f"bundle-kaniko-dir failed: {result.stderr}")
    return dest / "kaniko"


def python_base(registry: RunningRegistry, debian_image: str, workdir: Path) -> str:
    """Debian's python3 on the Debian base (no Docker Hub here), trusting what this machine trusts:
    where PyPI is reached through a TLS-inspecting proxy, its CA is in the host's bundle, and pip
    needs it."""
    dockerfile = f"""FROM {debian_image}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    python3 python3-venv ca-certificates && rm -rf /var/lib/apt/lists/*
COPY host-ca.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
"""
    context = write_context(workdir / "context", dockerfile,
                            {"host-ca.crt": HOST_CA_BUNDLE.read_bytes()})
    ref = registry.ref("python", "3-bookworm")
    run = run_executor(workdir, context, "--destination", ref, *FAST_LAYERS)
    assert run.returncode == 0, run.stderr
    return ref


def repository_context(directory: Path) -> Path:
    """The files of this checkout that Dockerfile.executor needs, as a build context."""
    for name in SOURCES:
        source, target = REPO / name, directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return directory


def run_executor_image(docker: RunningDocker, image: str, context: Path | str, *args: str,
                       env: dict[str, str] | None = None,
                       volumes: dict[Path, str] | None = None) -> tuple[int, str]:
    """``docker run --rm --network host -v CONTEXT:/workspace IMAGE --context dir:///workspace ARGS``
    (a ``context`` that is a string is passed as ``--context`` as it is: ``git://...``); the exit
    status and the log."""
    result = docker.run("run", "--rm", *docker_run_args(image, context, *args, env=env, volumes=volumes),
                        check=False, timeout=300)
    return result.returncode, result.stdout + result.stderr


def docker_run_args(image: str, context: Path | str, *args: str, env: dict[str, str] | None = None,
                    volumes: dict[Path, str] | None = None) -> list[str]:
    """What follows ``docker run [--rm|--name N]``: the host's network, the context, the executor's flags."""
    environment = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    mounts = [arg for host, inside in (volumes or {}).items() for arg in ("-v", f"{host}:{inside}:ro")]
    if isinstance(context, Path):
        mounts += ["-v", f"{context}:/workspace:ro"]
        context = "dir:///workspace"
    return ["--network", "host", *mounts, *environment, image, "--context", context, *args]


def start_executor_image(docker: RunningDocker, name: str, image: str, context: Path | str, *args: str,
                         log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """``docker run --rm --name NAME ...`` started and not waited for; its output goes to ``log``."""
    with open(log, "wb") as output:
        return subprocess.Popen([str(DOCKER), "run", "--rm", "--name", name,
                                 *docker_run_args(image, context, *args, env=env)],
                                env=docker.env(), stdout=output, stderr=subprocess.STDOUT)


def wait_for_log(log: Path, line: str, process: subprocess.Popen[bytes], timeout: float = 120) -> None:
    """Until ``line`` is a line of ``log``; fails if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while line not in log.read_text(errors="replace").splitlines():
        assert process.poll() is None, log.read_text(errors="replace")[-3000:]
        assert time.monotonic() < deadline, f"no {line!r} after {timeout}s:\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def pushed_blobs(registry: RunningRegistry, repository: str, tag: str = "latest") -> list[bytes]:
    def get(path: str, accept: str = "") -> bytes:
        request = urllib.request.Request(f"{registry.url}/v2/{repository}/{path}", headers={"Accept": accept})
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.read()

    manifest = get(f"manifests/{tag}", "application/vnd.docker.distribution.manifest.v2+json")
    document = json.loads(manifest)
    return [manifest, *(get(f"blobs/{d['digest']}") for d in [document["config"], *document["layers"]])]


def layer_files(blobs: list[bytes]) -> dict[str, bytes]:
    files = {}
    for blob in blobs[2:]:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in tar:
                if member.isfile():
                    files[member.name] = tar.extractfile(member).read()  # type: ignore[union-attr]
    return files
