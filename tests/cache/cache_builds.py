"""Helpers of the cache tests: builds with --cache, what ran, the images they made, and checks that
every entry of a cache (a registry repository or an oci: directory) is whole and hashes right."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from tests.support.executor import ExecutorRun
from tests.support.registry import RunningRegistry

MANIFEST_ACCEPT = ", ".join(["application/vnd.docker.distribution.manifest.v2+json",
                             "application/vnd.oci.image.manifest.v1+json"])


def executor_command(workdir: Path, context: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "executor", "--context", str(context),
            "--root", str(workdir / "root"), "--kaniko-dir", str(workdir / "kaniko"), JSON_LOG, *args]


def start_build(workdir: Path, context: Path, *args: str) -> subprocess.Popen[str]:
    """An executor started and not waited for (several builds at once)."""
    env = {**os.environ, "DOCKER_CONFIG": str(workdir / "no-docker-config")}
    return subprocess.Popen(executor_command(workdir, context, *args), env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def finish_build(workdir: Path, process: subprocess.Popen[str]) -> ExecutorRun:
    stdout, stderr = process.communicate(timeout=300)
    return ExecutorRun(process.returncode, stdout, stderr, workdir / "root", workdir / "kaniko")


# The cache tests read the builds' structured events, not their text.
JSON_LOG = "--log-format=json"


def ran(run: ExecutorRun) -> list[str]:
    """The shell commands of the RUN steps that executed (``run.process`` events)."""
    return [event["argv"][-1] for event in run.named("run.process")]


def cache_hits(run: ExecutorRun, *, with_layer: bool | None = None) -> int:
    """How many steps came from the cache (``step.cached``); ``with_layer=False``: those that had
    changed no files."""
    hits = run.named("step.cached")
    if with_layer is not None:
        hits = [hit for hit in hits if (hit["layer"] is not None) is with_layer]
    return len(hits)


@dataclass(frozen=True)
class ImageFacts:
    layers: list[str]  # layer digests
    empty_layers: list[bool]  # per history entry
    created_by: list[str]


def _facts(manifest: dict, config: dict) -> ImageFacts:
    history = config.get("history") or []
    return ImageFacts([layer["digest"] for layer in manifest["layers"]],
                      [bool(entry.get("empty_layer")) for entry in history],
                      [entry.get("created_by", "") for entry in history])


def pushed_image(registry: RunningRegistry, ref: str) -> ImageFacts:
    """The image at ``ref`` as skopeo reads it back."""
    def inspect(*flags: str) -> dict:
        return json.loads(subprocess.run(
            ["skopeo", "inspect", "--tls-verify=false", *flags, f"docker://{ref}"],
            check=True, capture_output=True).stdout)
    return _facts(inspect("--raw"), inspect("--config", "--raw"))


def image_exists(ref: str) -> bool:
    return subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                          capture_output=True).returncode == 0


def layout_entries(directory: Path) -> list[Path]:
    """The cache entries of an oci: cache directory (temporary ones start with a dot)."""
    return sorted(p for p in directory.iterdir() if not p.name.startswith("."))


def check_layout_cache(directory: Path) -> int:
    """Every entry is an OCI layout that skopeo reads, whose blobs all hash to their names and
    whose manifest's blobs are all there; no temporary directory is left. Returns the count."""
    leftovers = [p.name for p in directory.iterdir() if p.name.startswith(".")]
    assert not leftovers, leftovers
    entries = layout_entries(directory)
    for entry in entries:
        assert json.loads((entry / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
        blobs = entry / "blobs" / "sha256"
        for blob in blobs.iterdir():
            assert _sha256(blob) == blob.name, f"{blob} does not hash to its name"
        index = json.loads((entry / "index.json").read_text())
        [descriptor] = index["manifests"]
        manifest = json.loads((blobs / descriptor["digest"].split(":")[1]).read_bytes())
        for part in [manifest["config"], *manifest["layers"]]:
            path = blobs / part["digest"].split(":")[1]
            assert path.stat().st_size == part["size"], path
        raw = subprocess.run(["skopeo", "inspect", "--raw", f"oci:{entry}"], check=True,
                             capture_output=True).stdout
        assert json.loads(raw) == manifest
        config = json.loads((blobs / manifest["config"]["digest"].split(":")[1]).read_bytes())
        assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"]) <= 1
    return len(entries)


def check_registry_cache(registry: RunningRegistry, repository: str) -> int:
    """Every tag of the cache repository resolves to a manifest whose blobs the registry serves
    and whose bytes hash to their digests. Returns the number of tags."""
    tags = json.loads(_get(f"{registry.url}/v2/{repository}/tags/list"))["tags"]
    for tag in tags:
        manifest = json.loads(_get(f"{registry.url}/v2/{repository}/manifests/{tag}",
                                   accept=MANIFEST_ACCEPT))
        assert len(manifest["layers"]) <= 1
        for part in [manifest["config"], *manifest["layers"]]:
            data = _get(f"{registry.url}/v2/{repository}/blobs/{part['digest']}")
            assert len(data) == part["size"]
            assert "sha256:" + hashlib.sha256(data).hexdigest() == part["digest"], (tag, part)
        config = json.loads(_get(f"{registry.url}/v2/{repository}/blobs/"
                                 f"{manifest['config']['digest']}"))
        assert len(config["rootfs"]["diff_ids"]) == len(manifest["layers"])
    return len(tags)


def _get(url: str, accept: str | None = None) -> bytes:
    request = urllib.request.Request(url, headers={"Accept": accept} if accept else {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.read()


def _sha256(path: Path) -> str:
    hasher = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            hasher.update(chunk)
    return hasher.hexdigest()
