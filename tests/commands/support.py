"""Build a Dockerfile with lamina in a sandbox, push it, and read the image back."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path

from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.readback import PulledImage, pull_image
from tests.support.registry import RunningRegistry


def build(tmp_path: Path, registry: RunningRegistry, dockerfile: str, *flags: str,
          files: dict[str, str | bytes] | None = None, workdir: Path | None = None,
          env: dict[str, str] | None = None) -> tuple[ExecutorRun, str]:
    """Run the executor on a fresh context; ``workdir`` (its root and kaniko dir) may be reused."""
    context = write_context(tmp_path / "context", dockerfile, files)
    destination = registry.ref("commands/" + tmp_path.name[-30:].lower().strip("_-").replace("_", "-"),
                               (workdir.name if workdir else "latest").lower().replace("_", "-"))
    run = run_executor(workdir or tmp_path / "work", context, "--destination", destination, *flags, env=env)
    return run, destination


def build_and_pull(tmp_path: Path, registry: RunningRegistry, dockerfile: str, *flags: str,
                   files: dict[str, str | bytes] | None = None, workdir: Path | None = None,
                   env: dict[str, str] | None = None) -> tuple[ExecutorRun, PulledImage]:
    run, destination = build(tmp_path, registry, dockerfile, *flags, files=files, workdir=workdir, env=env)
    assert run.returncode == 0, run.stderr
    return run, pull_image(registry, destination, tmp_path / ("pulled-" + (workdir.name if workdir else "x")))


def pushed(registry: RunningRegistry, destination: str) -> bool:
    result = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{destination}"],
                            capture_output=True)
    return result.returncode == 0


def every_blob(image: PulledImage) -> list[bytes]:
    """Each blob of the pulled layout (manifest, config, layers) as stored and, for gzip, unpacked."""
    blobs = []
    for path in sorted((image.layout / "blobs").rglob("*")):
        if path.is_file():
            data = path.read_bytes()
            blobs.append(data)
            if data[:2] == b"\x1f\x8b":
                blobs.append(gzip.decompress(data))
    return blobs


def layer_paths(image: PulledImage) -> list[str]:
    """The names of every entry in every layer (so a path removed later still shows up)."""
    import io
    import tarfile

    names = []
    for layer in image.manifest["layers"]:
        blob = image.layout / "blobs" / "sha256" / layer["digest"].split(":", 1)[1]
        with tarfile.open(fileobj=io.BytesIO(blob.read_bytes())) as tar:
            names.extend(member.name.lstrip("./") for member in tar)
    return names
