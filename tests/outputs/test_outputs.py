"""Every output kaniko has, read back by other tools: podman, skopeo, umoci."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from executor.registry import RegistryClient
from tests.registry.servers import Fault, FlakyProxy, serve
from tests.support.executor import run_executor, write_context
from tests.support.readback import describe_tree
from tests.support.registry import RunningRegistry

DOCKERFILE = "FROM {base}\nRUN echo out > /out\nCMD [\"cat\", \"/out\"]\n"


@pytest.mark.skipif(shutil.which("podman") is None, reason="podman is installed by setup.sh")
def test_tarball_loads_in_podman(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    tarball = tmp_path / "image.tar"
    run = run_executor(tmp_path, context, "--no-push", "--destination", registry.ref("out/podman"),
                       "--tar-path", str(tarball))
    assert run.returncode == 0, run.stderr
    storage = tmp_path / "podman"
    runroot = Path(tempfile.mkdtemp(prefix="lamina-pr-"))  # podman wants a runroot < 50 chars
    podman = ["podman", "--root", str(storage / "root"), "--runroot", str(runroot),
              "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs", "--events-backend", "none"]
    loaded = subprocess.run([*podman, "load", "-i", str(tarball)], capture_output=True, text=True)
    assert loaded.returncode == 0, loaded.stderr
    assert registry.ref("out/podman") in loaded.stdout
    try:
        inspect = subprocess.run([*podman, "image", "inspect", registry.ref("out/podman")],
                                 capture_output=True, text=True, check=True)
        assert json.loads(inspect.stdout)[0]["Config"]["Cmd"] == ["cat", "/out"]
    finally:
        shutil.rmtree(runroot, ignore_errors=True)


@pytest.mark.parametrize("image_format", ["oci", "docker"])
def test_oci_layout_validates_with_umoci_and_skopeo(tmp_path: Path, registry: RunningRegistry,
                                                    busybox_image: str, image_format: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    layout = tmp_path / "layout"
    run = run_executor(tmp_path, context, "--no-push", "--destination", registry.ref("out/oci"),
                       "--oci-layout-path", str(layout), "--image-format", image_format,
                       "--digest-file", str(tmp_path / "digest"))
    assert run.returncode == 0, run.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".layout")) == []
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == (tmp_path / "digest").read_text()
    copied = tmp_path / "copied"
    subprocess.run(["skopeo", "copy", "--quiet", f"oci:{layout}", f"oci:{copied}:x"],
                   check=True, capture_output=True)
    unpack_from = f"{copied}:x"
    if image_format == "oci":  # umoci speaks OCI media types only: read our layout directly
        listed = subprocess.run(["umoci", "ls", "--layout", str(layout)], capture_output=True,
                                text=True, check=True)
        assert listed.stdout.split() == [registry.ref("out/oci")]
        # (not `umoci stat`: it crashes on history entries without "created", as the
        # skopeo-pushed base fixture's are)
        unpack_from = f"{layout}:{registry.ref('out/oci')}"
    subprocess.run(["umoci", "raw", "unpack", "--image", unpack_from, str(tmp_path / "fs")],
                   check=True, capture_output=True)
    assert describe_tree(tmp_path / "fs")["/out"].content == b"out\n"


def test_oci_format_push_never_mixes_media_types(tmp_path: Path, registry: RunningRegistry,
                                                 busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    run = run_executor(tmp_path, context, "--destination", registry.ref("out/ocifmt"),
                       "--image-format", "oci")
    assert run.returncode == 0, run.stderr
    raw = json.loads(subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false",
                                     f"docker://{registry.ref('out/ocifmt')}"],
                                    check=True, capture_output=True).stdout)
    types = [raw["mediaType"], raw["config"]["mediaType"], *(layer["mediaType"] for layer in raw["layers"])]
    assert all(t.startswith("application/vnd.oci.") for t in types), types


def test_digest_files_in_kanikos_formats(tmp_path: Path, registry: RunningRegistry,
                                         busybox_image: str) -> None:
    context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
    first, second = registry.ref("out/names", "v1"), registry.ref("out/names2", "v2")
    run = run_executor(tmp_path, context, "--destination", first, "--destination", second,
                       "--digest-file", str(tmp_path / "d"),
                       "--image-name-with-digest-file", str(tmp_path / "n"),
                       "--image-name-tag-with-digest-file", str(tmp_path / "t"))
    assert run.returncode == 0, run.stderr
    digest = (tmp_path / "d").read_text()
    assert (tmp_path / "n").read_text() == (f"{registry.host}/out/names@{digest}\n"
                                            f"{registry.host}/out/names2@{digest}\n")
    assert (tmp_path / "t").read_text() == f"{first}@{digest}\n{second}@{digest}\n"


def test_destinations_share_one_upload(tmp_path: Path, registry: RunningRegistry,
                                       busybox_image: str) -> None:
    """Three destinations on one registry: the new layer and config go up once and are mounted
    into the other repositories; the base layers are mounted from the base's repository."""
    proxy = FlakyProxy(registry.host)
    with serve(proxy.handle) as host:
        context = write_context(tmp_path / "context", DOCKERFILE.format(
            base=busybox_image.replace(registry.host, host)))
        run = run_executor(tmp_path, context, "--log-format=json",
                           *(a for n in ("a", "b", "c") for a in ("--destination", f"{host}/share/{n}:1")))
    assert run.returncode == 0, run.stderr
    uploads = [s for s in proxy.seen if s.startswith(("PUT", "PATCH")) and "/blobs/uploads/" in s]
    assert len(uploads) == 2, proxy.seen  # one new layer, one config
    mounted = [e for e in run.named("blob.pushed") if e["how"] == "mounted"]
    assert len(mounted) >= 4 and {e["destination"].split("/share/")[1] for e in mounted} >= {"b:1", "c:1"}


def test_chunked_upload_when_monolithic_put_is_refused(tmp_path: Path, registry: RunningRegistry,
                                                       busybox_image: str) -> None:
    proxy = FlakyProxy(registry.host, plan=[Fault("PUT", "/blobs/uploads/", "refuse-monolithic", -1)])
    with serve(proxy.handle) as host:
        context = write_context(tmp_path / "context", DOCKERFILE.format(base=busybox_image))
        run = run_executor(tmp_path, context, "--destination", f"{host}/chunked/app:1")
    assert run.returncode == 0, run.stderr
    assert any(s.startswith("PATCH") for s in proxy.seen)
    pulled = subprocess.run(["skopeo", "copy", "--quiet", "--src-tls-verify=false",
                             f"docker://{registry.host}/chunked/app:1", f"oci:{tmp_path / 'l'}:x"],
                            capture_output=True, text=True)
    assert pulled.returncode == 0, pulled.stderr


def test_large_blob_goes_up_in_chunks(registry: RunningRegistry) -> None:
    data = bytes(range(256)) * 40 + b"tail"  # 10244 bytes
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    proxy = FlakyProxy(registry.host)
    with serve(proxy.handle) as host, RegistryClient(host, chunk_size=4096) as client:
        client.upload_blob("chunked/large", digest, len(data), lambda: io.BytesIO(data))
        with client.open_blob("chunked/large", digest, len(data)) as stream:
            assert stream.read() == data
    assert sum(s.startswith("PATCH") for s in proxy.seen) == 3
