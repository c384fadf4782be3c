"""lamina builds its own Dockerfile.executor, and the executor from that image builds another image.

No Docker Hub here: the Python base is made by lamina itself from the debootstrap Debian base plus
Debian's python3, and handed to Dockerfile.executor through its PYTHON_IMAGE build arg.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.container.runtime import REPO, build_as_pid1
from tests.support.executor import run_executor, write_context
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

HOST_CA_BUNDLE = Path("/etc/ssl/certs/ca-certificates.crt")

# What Dockerfile.executor COPYs from the repository.
SOURCES = ("Dockerfile.executor", "pyproject.toml", "README.md", "executor", "snapshot",
           "scripts/bundle-kaniko-dir")


def python_base(registry: RunningRegistry, debian_image: str, workdir: Path) -> str:
    """Debian's python3 on the Debian base, trusting what this machine trusts: where PyPI is
    reached through a TLS-inspecting proxy, its CA is in the host's bundle, and pip needs it."""
    dockerfile = f"""FROM {debian_image}
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
    python3 python3-venv ca-certificates && rm -rf /var/lib/apt/lists/*
COPY host-ca.crt /etc/ssl/certs/ca-certificates.crt
ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt
"""
    context = write_context(workdir / "context", dockerfile,
                            {"host-ca.crt": HOST_CA_BUNDLE.read_bytes()})
    ref = registry.ref("python", "3-bookworm")
    run = run_executor(workdir, context, "--destination", ref)
    assert run.returncode == 0, run.stderr
    return ref


def repository_context(directory: Path) -> Path:
    for name in SOURCES:
        source, target = REPO / name, directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(source, target)
    return directory


@pytest.mark.slow
def test_lamina_builds_its_executor_image_which_then_builds(
        tmp_path: Path, registry: RunningRegistry, debian_image: str, busybox_image: str) -> None:
    base = python_base(registry, debian_image, tmp_path / "python")
    executor_ref = registry.ref("lamina/executor", "test")
    run = run_executor(tmp_path / "self", repository_context(tmp_path / "repo"),
                       "--dockerfile", "Dockerfile.executor", "--build-arg", f"PYTHON_IMAGE={base}",
                       "--destination", executor_ref, timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]

    image = pull_image(registry, executor_ref, tmp_path / "executor-image")
    assert sorted(p.name for p in image.rootfs.iterdir()) == ["kaniko", "workspace"]
    assert image.run_config["Entrypoint"] == ["/kaniko/executor"]
    # git:// contexts: the bundle carries git and its https helper (kaniko has go-git built in)
    assert (image.rootfs / "kaniko/bin/git").is_file()
    assert (image.rootfs / "kaniko/libexec/git-core/git-remote-https").is_file()

    # The image's /kaniko, started as PID 1 of a container, builds and pushes another image.
    tree = build_as_pid1(tmp_path / "container", image.rootfs / "kaniko", registry,
                         "container/by-executor-image", f"FROM {busybox_image}\nRUN echo from-image > /tmp/made.txt\n")
    assert tree["/tmp/made.txt"].content == b"from-image\n"
