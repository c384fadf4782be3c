"""Snapshot and layer flags end to end: parallel gzip and zstd layers read back by skopeo and umoci,
--reproducible gives the same digest twice, --single-snapshot gives one layer, bad values fail."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.executor import run_executor, write_context
from tests.support.readback import PulledImage, describe_tree
from tests.support.readback import pull_image as pull_as_pushed
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
FROM {base}
COPY big.bin /data/big.bin
RUN echo hello > /hello && mkdir -p /var/app && echo x > /var/app/x
RUN chmod 600 /hello && rm /var/app/x
ENV DONE=1
"""

# Several 1 MiB gzip blocks, part incompressible, part not.
BIG = (os.urandom(1_500_000) + bytes(1_200_000)) * 2


def pull_image(registry: RunningRegistry, ref: str, workdir: Path, *, recompress: bool = False) -> PulledImage:
    if not recompress:
        return pull_as_pushed(registry, ref, workdir)
    manifest = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                          f"docker://{ref}"], check=True, capture_output=True).stdout)
    config = json.loads(subprocess.run(["skopeo", "inspect", "--config", "--raw", "--tls-verify=false",
                                        f"docker://{ref}"], check=True, capture_output=True).stdout)
    workdir.mkdir(parents=True, exist_ok=True)
    layout, rootfs = workdir / "layout", workdir / "bundle"
    subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false", "--dest-compress",
                    "--dest-compress-format=gzip", f"docker://{ref}", f"oci:{layout}:pulled"],
                   check=True, capture_output=True)
    subprocess.run(["umoci", "raw", "unpack", "--image", f"{layout}:pulled", str(rootfs)], check=True,
                   capture_output=True)
    assert describe_tree(rootfs)  # umoci checked every layer against the config's diff ids
    return PulledImage(manifest=manifest, manifest_digest="", config=config, rootfs=rootfs, layout=layout)


def _context(workdir: Path, base: str) -> Path:
    return write_context(workdir / "context", DOCKERFILE.format(base=base), {"big.bin": BIG})


def _check_tree(tree: dict) -> None:
    assert tree["/data/big.bin"].content == BIG
    assert tree["/hello"].content == b"hello\n" and tree["/hello"].mode == 0o600
    assert "/var/app/x" not in tree and tree["/var/app"].kind == "dir"
    assert tree["/bin/busybox"].kind == "file"


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_layers_in_each_compression_read_back(registry: RunningRegistry, busybox_image: str,
                                              workdir: Path, compression: str) -> None:
    destination = registry.ref("snapshot-modes", compression)
    run = run_executor(workdir, _context(workdir, busybox_image), "--destination", destination,
                       f"--compression={compression}", "--compression-level", "3")
    assert run.returncode == 0, run.stderr
    image = pull_image(registry, destination, workdir / "pulled", recompress=compression == "zstd")
    built = image.manifest["layers"][2:]  # after busybox's two
    assert len(built) == 3
    if compression == "zstd":
        assert image.manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
        assert {layer["mediaType"] for layer in built} == {"application/vnd.oci.image.layer.v1.tar+zstd"}
    else:
        assert {layer["mediaType"] for layer in built} == {
            "application/vnd.docker.image.rootfs.diff.tar.gzip"}
    # The registry verified every digest on upload; umoci verified diff ids while unpacking
    # (for zstd, skopeo decompressed the layers and recompressed them as gzip for umoci 0.4,
    # which reads no zstd: the diff ids in our config still have to match).
    _check_tree(image.tree())


def test_reproducible_builds_have_the_same_digest(registry: RunningRegistry, busybox_image: str,
                                                  workdir: Path) -> None:
    context = _context(workdir, busybox_image)
    digests = []
    for attempt in range(2):
        if attempt:
            time.sleep(1.1)  # a different second for every file time and history entry
            os.utime(context / "big.bin")
        work = workdir / f"build{attempt}"
        run = run_executor(work, context, "--destination", registry.ref("repro", str(attempt)),
                           "--reproducible", "--digest-file", str(workdir / f"digest{attempt}"))
        assert run.returncode == 0, run.stderr
        digests.append((workdir / f"digest{attempt}").read_text())
    assert digests[0] == digests[1]
    image = pull_image(registry, registry.ref("repro", "1"), workdir / "pulled")
    assert image.config["created"] == "1970-01-01T00:00:00Z"
    assert {h.get("created") for h in image.config["history"][2:]} == {"1970-01-01T00:00:00Z"}
    _check_tree(image.tree())
    assert all(facts.kind == "dir" or os.lstat(image.rootfs / name.lstrip("/")).st_mtime == 0
               for name, facts in image.tree().items() if name.startswith(("/data", "/hello")))


def test_single_snapshot_makes_one_layer(registry: RunningRegistry, busybox_image: str,
                                         workdir: Path) -> None:
    destination = registry.ref("single", "latest")
    run = run_executor(workdir, _context(workdir, busybox_image), "--destination", destination,
                       "--single-snapshot")
    assert run.returncode == 0, run.stderr
    image = pull_image(registry, destination, workdir / "pulled")
    assert len(image.manifest["layers"]) == 3
    assert len(image.config["rootfs"]["diff_ids"]) == 3
    assert sum(1 for h in image.config["history"] if not h.get("empty_layer")) == 3
    assert image.run_config["Env"][-1] == "DONE=1"
    _check_tree(image.tree())
    blob = (image.layout / "blobs/sha256" / image.manifest["layers"][2]["digest"].split(":")[1]).read_bytes()
    assert "sha256:" + hashlib.sha256(blob).hexdigest() == image.manifest["layers"][2]["digest"]


@pytest.mark.parametrize("snapshot_mode", ["redo", "time"])
def test_other_snapshot_modes_build(registry: RunningRegistry, busybox_image: str, workdir: Path,
                                    snapshot_mode: str) -> None:
    destination = registry.ref("mode", snapshot_mode)
    run = run_executor(workdir, _context(workdir, busybox_image), "--destination", destination,
                       f"--snapshot-mode={snapshot_mode}")
    assert run.returncode == 0, run.stderr
    tree = pull_image(registry, destination, workdir / "pulled").tree()
    assert tree["/data/big.bin"].content == BIG and tree["/hello"].content == b"hello\n"
    if snapshot_mode == "redo":  # time mode looks at mtimes only: the chmod is not seen
        assert tree["/hello"].mode == 0o600


@pytest.mark.parametrize("flags, message", [
    (["--snapshot-mode=fast"], "--snapshot-mode 'fast'"),
    (["--compression=lz4"], "--compression 'lz4'"),
    (["--compression=gzip", "--compression-level=12"], "--compression-level 12"),
    (["--single-snapshot=maybe"], "--single-snapshot"),
])
def test_bad_snapshot_flags_fail_in_one_line(workdir: Path, flags: list[str], message: str) -> None:
    context = write_context(workdir / "context", "FROM scratch\n")
    run = run_executor(workdir, context, "--no-push", *flags)
    assert run.returncode != 0
    assert len(run.error_lines) == 1 and message in run.error_lines[0], run.stderr
    assert not run.root.exists() or not any(run.root.iterdir())


def test_flags_parse_into_snapshot_options() -> None:
    from executor.cli import parse_options
    from executor.options import SnapshotOptions

    base = ["--no-push", "--context", "/nonexistent-context"]
    assert parse_options(base, {}).snapshot == SnapshotOptions(compression_level=6)
    options = parse_options([*base, "--snapshot-mode=redo", "--single-snapshot", "--compression", "zstd",
                             "--reproducible=true"], {})
    assert options.snapshot == SnapshotOptions(mode="redo", single_snapshot=True, compression="zstd",
                                               compression_level=3, reproducible=True)
    assert parse_options([*base, "--reproducible=false"], {}).snapshot.reproducible is False
