"""Base images made from Debian packages and pushed to the test registry with skopeo.

The layer tarballs are written with Python's tarfile and pushed by skopeo, so nothing here depends
on lamina's own registry client or layer writer.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

from .registry import RunningRegistry

BUSYBOX = Path("/bin/busybox")

PASSWD = """root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
app:x:1000:1000:app user:/home/app:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
"""
GROUP = """root:x:0:
daemon:x:1:
staff:x:50:app
app:x:1000:
nogroup:x:65534:
"""


def make_busybox_rootfs(root: Path, busybox: Path = BUSYBOX) -> Path:
    """A minimal root: /bin/busybox from Debian's busybox-static (``busybox``: the host's, or
    another architecture's build of the same version), applet links, /etc, /tmp."""
    root.mkdir(parents=True, exist_ok=True)
    for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "root", "home/app", "var", "proc",
              "sys", "dev"):
        (root / d).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin/busybox")
    os.chmod(root / "bin/busybox", 0o755)
    # the applets are listed by the host's busybox: the same Debian version on every architecture
    applets = subprocess.run([str(BUSYBOX), "--list-full"], capture_output=True, text=True,
                             check=True).stdout.split()
    for applet in applets:
        link = root / applet
        if applet == "bin/busybox" or link.exists() or link.is_symlink():
            continue
        link.parent.mkdir(parents=True, exist_ok=True)
        os.symlink("/bin/busybox", link)
    (root / "etc/passwd").write_text(PASSWD)
    (root / "etc/group").write_text(GROUP)
    (root / "tmp").mkdir(exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    os.chmod(root / "root", 0o700)
    os.chown(root / "home/app", 1000, 1000)
    return root


def _tar_directory(root: Path) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                path = Path(dirpath, name)
                arcname = str(path.relative_to(root))
                info = tar.gettarinfo(str(path), arcname)
                info.uname = info.gname = ""
                if info.isreg():
                    with open(path, "rb") as f:
                        tar.addfile(info, f)
                else:
                    tar.addfile(info)
    return buf.getvalue()


def _put_layer(blobs: Path, layer: bytes | Path) -> tuple[dict, str]:
    """Gzip one layer tar (bytes, or a file streamed from disk) into the blob store."""
    raw_hash, temp = hashlib.sha256(), blobs / ".layer.partial"
    with open(temp, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, compresslevel=1) as gz:
            if isinstance(layer, bytes):
                raw_hash.update(layer)
                gz.write(layer)
            else:
                with open(layer, "rb") as source:
                    while chunk := source.read(1 << 20):
                        raw_hash.update(chunk)
                        gz.write(chunk)
    digest = hashlib.sha256()
    with open(temp, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    size = temp.stat().st_size
    temp.rename(blobs / digest.hexdigest())
    descriptor = {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                  "digest": "sha256:" + digest.hexdigest(), "size": size}
    return descriptor, "sha256:" + raw_hash.hexdigest()


def write_oci_layout(layout: Path, tag: str, layer_tars: list[bytes | Path], config_extra: dict,
                     diff_ids: list[str] | None = None, architecture: str = "amd64") -> None:
    """Write a single-platform OCI image layout holding gzip layers made from ``layer_tars``;
    ``diff_ids`` replaces the true ones in the config (a lying base image); ``architecture``
    is the config's (linux/amd64 unless said)."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return "sha256:" + digest

    override, layers, diff_ids = diff_ids, [], []
    for raw in layer_tars:
        descriptor, diff_id = _put_layer(blobs, raw)
        layers.append(descriptor)
        diff_ids.append(diff_id)
    config = {
        "architecture": architecture, "os": "linux",
        # a None in config_extra leaves that key out (a base image with no Env at all)
        "config": {key: value for key, value in {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "Cmd": ["sh"], **config_extra}.items() if value is not None},
        "rootfs": {"type": "layers", "diff_ids": diff_ids if override is None else override},
        "history": [{"created_by": "lamina test fixture"} for _ in layer_tars],
    }
    config_bytes = json.dumps(config).encode()
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                           "digest": put(config_bytes), "size": len(config_bytes)},
                "layers": layers}
    manifest_bytes = json.dumps(manifest).encode()
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": manifest["mediaType"], "digest": put(manifest_bytes),
         "size": len(manifest_bytes), "annotations": {"org.opencontainers.image.ref.name": tag}}]}
    (layout / "index.json").write_text(json.dumps(index))


def skopeo_push(source: str, registry: RunningRegistry, repository: str, tag: str,
                fmt: str | None = "v2s2") -> str:
    """Copy ``source`` (a skopeo transport reference) to the registry; returns the pushed ref."""
    dest = f"docker://{registry.ref(repository, tag)}"
    args = ["skopeo", "copy", "--quiet", *skopeo_tls_args(registry, "dest")]
    if fmt:
        args += ["--format", fmt]
    subprocess.run([*args, source, dest], check=True, capture_output=True)
    return registry.ref(repository, tag)


def skopeo_tls_args(registry: RunningRegistry, side: str) -> list[str]:
    args: list[str] = []
    if registry.tls:
        args.append(f"--{side}-cert-dir={registry.tls.ca_cert.parent / 'skopeo-certs'}")
        certs = registry.tls.ca_cert.parent / "skopeo-certs"
        certs.mkdir(exist_ok=True)
        shutil.copy(registry.tls.ca_cert, certs / "ca.crt")
    else:
        args.append(f"--{side}-tls-verify=false")
    if registry.username is not None:
        args.append(f"--{side}-creds={registry.username}:{registry.password}")
    return args


def push_busybox(registry: RunningRegistry, workdir: Path, repository: str = "busybox",
                 tag: str = "latest", config: dict | None = None) -> str:
    """Build the busybox base (two layers: the root, then a marker file) and push it; ``config``
    goes into the image's run config (a None value leaves the key out)."""
    rootfs = make_busybox_rootfs(workdir / "rootfs")
    second = workdir / "layer2"
    (second / "etc").mkdir(parents=True, exist_ok=True)
    (second / "etc/os-release").write_text("NAME=lamina-busybox\n")
    layout = workdir / "layout"
    write_oci_layout(layout, tag, [_tar_directory(rootfs), _tar_directory(second)], config or {})
    return skopeo_push(f"oci:{layout}:{tag}", registry, repository, tag)


def arm64_busybox() -> Path:
    """Debian's busybox-static for arm64, which scripts/setup.sh downloads (``apt-get download
    busybox-static:arm64``) and unpacks under ``$LAMINA_CACHE`` (default ``~/.cache/lamina``)."""
    cache = Path(os.environ.get("LAMINA_CACHE", Path.home() / ".cache" / "lamina"))
    path = cache / "busybox-arm64" / "bin" / "busybox"
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run scripts/setup.sh, which downloads Debian's "
                                "busybox-static:arm64 there")
    return path


def push_busybox_index(registry: RunningRegistry, workdir: Path, repository: str = "busybox-multi",
                       tag: str = "latest", config: dict | None = None) -> str:
    """The busybox base of ``push_busybox`` for linux/amd64 (the host's busybox) and linux/arm64
    (Debian's arm64 build), each image's config naming its architecture, under one OCI image
    index: written as an OCI layout whose ``index.json`` names the index, then ``skopeo copy
    --all``. Returns the pushed reference (the index's tag)."""
    layout = workdir / "layout"
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    entries = []
    for architecture, busybox in (("amd64", BUSYBOX), ("arm64", arm64_busybox())):
        single = workdir / architecture
        rootfs = make_busybox_rootfs(single / "rootfs", busybox)
        second = single / "layer2"
        (second / "etc").mkdir(parents=True, exist_ok=True)
        (second / "etc/os-release").write_text("NAME=lamina-busybox\n")
        write_oci_layout(single / "layout", tag, [_tar_directory(rootfs), _tar_directory(second)],
                         config or {}, architecture=architecture)
        for blob in (single / "layout" / "blobs" / "sha256").iterdir():
            shutil.copyfile(blob, blobs / blob.name)
        [descriptor] = json.loads((single / "layout" / "index.json").read_text())["manifests"]
        descriptor.pop("annotations")
        entries.append({**descriptor, "platform": {"architecture": architecture, "os": "linux"}})
    index = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                        "manifests": entries}).encode()
    digest = hashlib.sha256(index).hexdigest()
    (blobs / digest).write_bytes(index)
    (layout / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + digest,
         "size": len(index), "annotations": {"org.opencontainers.image.ref.name": tag}}]}))
    dest = f"docker://{registry.ref(repository, tag)}"
    subprocess.run(["skopeo", "copy", "--quiet", "--all", *skopeo_tls_args(registry, "dest"),
                    f"oci:{layout}:{tag}", dest], check=True, capture_output=True)
    return registry.ref(repository, tag)
