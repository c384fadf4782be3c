"""Tiny images built in memory for push tests (independent of lamina's layer writer)."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from executor.image.digest import sha256_digest
from executor.registry import OCI_MANIFEST
from tests.support.images import skopeo_tls_args
from tests.support.registry import RunningRegistry


@dataclass(frozen=True)
class Blob:
    data: bytes

    @property
    def digest(self) -> str:
        return sha256_digest(self.data)

    @property
    def size(self) -> int:
        return len(self.data)

    def opener(self) -> io.BytesIO:
        return io.BytesIO(self.data)


@dataclass(frozen=True)
class TinyImage:
    config: Blob
    layer: Blob
    manifest: bytes
    media_type: str = OCI_MANIFEST

    @property
    def digest(self) -> str:
        return sha256_digest(self.manifest)


def tiny_image(marker: str, architecture: str = "amd64", variant: str | None = None) -> TinyImage:
    """One gzip layer holding /marker, an OCI config and manifest; ``marker`` makes it unique."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        content = f"{marker}\n".encode()
        info = tarfile.TarInfo("marker")
        info.size = len(content)
        tar.addfile(info, io.BytesIO(content))
    layer = Blob(gzip.compress(raw.getvalue(), mtime=0))
    config_doc: dict = {"architecture": architecture, "os": "linux",
                        "config": {"Cmd": ["sh"]},
                        "rootfs": {"type": "layers",
                                   "diff_ids": [sha256_digest(raw.getvalue())]}}
    if variant:
        config_doc["variant"] = variant
    config = Blob(json.dumps(config_doc).encode())
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": OCI_MANIFEST,
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": config.digest, "size": config.size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": layer.digest, "size": layer.size}],
    }, indent=1).encode()
    return TinyImage(config=config, layer=layer, manifest=manifest)


def skopeo_raw(registry: RunningRegistry, ref: str, *extra: str, config: bool = False,
               arch: str | None = None) -> bytes:
    """``skopeo inspect --raw`` (or ``--config``): what an independent client reads back."""
    args = ["skopeo"]
    if arch:
        args += ["--override-arch", arch]
    # skopeo inspect takes the copy flags without their --src- prefix
    tls = [arg.replace("--src-", "--") for arg in skopeo_tls_args(registry, "src")]
    args += ["inspect", "--raw", *(["--config"] if config else []), *tls, *extra,
             f"docker://{ref}"]
    return subprocess.run(args, check=True, capture_output=True).stdout


def write_file(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
