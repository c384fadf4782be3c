"""The executor as users run it: its bundle imported into the tests' dockerd as an image holding
only /kaniko (as Dockerfile.executor makes it), run with ``docker run`` and Docker's defaults."""

from __future__ import annotations

import io
import json
import subprocess
import tarfile
import urllib.request
from pathlib import Path

import pytest

from tests.container.runtime import IMAGE_ENV
from tests.support.docker import RunningDocker
from tests.support.registry import RunningRegistry


@pytest.fixture(scope="session")
def executor_image(docker: RunningDocker, kaniko_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The bundle as a FROM-scratch image holding only /kaniko, as Dockerfile.executor makes it."""
    tarball = tmp_path_factory.mktemp("image") / "kaniko.tar"
    subprocess.run(["tar", "-C", str(kaniko_bundle.parent), "-cf", str(tarball), "kaniko"], check=True)
    changes = [f"ENV {key}={value}" for key, value in IMAGE_ENV.items() if key != "container"]
    args = [arg for change in [*changes, 'ENTRYPOINT ["/kaniko/executor"]'] for arg in ("--change", change)]
    docker.run("import", *args, str(tarball), "lamina-executor:confinement", timeout=600)
    return "lamina-executor:confinement"


def run_executor_image(docker: RunningDocker, image: str, context: Path, *args: str,
                       env: dict[str, str] | None = None,
                       volumes: dict[Path, str] | None = None) -> tuple[int, str]:
    """``docker run --rm --network host -v CONTEXT:/workspace IMAGE --context dir:///workspace ARGS``;
    the exit status and the log."""
    environment = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
    mounts = [arg for host, inside in (volumes or {}).items() for arg in ("-v", f"{host}:{inside}:ro")]
    result = docker.run("run", "--rm", "--network", "host", "-v", f"{context}:/workspace:ro",
                        *environment, *mounts, image, "--context", "dir:///workspace", *args,
                        check=False, timeout=300)
    return result.returncode, result.stdout + result.stderr


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

