"""Read an image back from the registry with independent tools (skopeo, umoci) and describe it."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .images import skopeo_tls_args
from .registry import RunningRegistry


@dataclass(frozen=True)
class FileFacts:
    kind: str  # "file", "dir", "symlink", "char", "block", "fifo"
    mode: int  # permission bits including setuid/setgid/sticky
    uid: int
    gid: int
    content: bytes | None = None  # regular files
    target: str | None = None  # symlinks


@dataclass(frozen=True)
class PulledImage:
    manifest: dict
    manifest_digest: str  # sha256 of the manifest bytes exactly as the registry serves them
    config: dict  # the whole image config (architecture, config, rootfs, history, ...)
    rootfs: Path
    layout: Path

    @property
    def run_config(self) -> dict:
        return self.config.get("config") or {}

    def tree(self) -> dict[str, FileFacts]:
        return describe_tree(self.rootfs)


def pull_image(registry: RunningRegistry, ref: str, workdir: Path,
               platform: str | None = None) -> PulledImage:
    """skopeo copy to an OCI layout (keeping the manifest as pushed), then umoci raw unpack.
    ``platform`` (``linux/arm64``) picks that image from an index (skopeo --override-os/-arch;
    ``manifest`` is then the image's, not the index's)."""
    workdir.mkdir(parents=True, exist_ok=True)
    override: list[str] = []
    if platform is not None:
        os_name, arch, *variant = platform.split("/")
        override = ["--override-os", os_name, "--override-arch", arch,
                    *(["--override-variant", variant[0]] if variant else [])]
    manifest_raw = subprocess.run(
        ["skopeo", "inspect", "--raw", *_inspect_args(registry), f"docker://{ref}"],
        check=True, capture_output=True).stdout
    manifest = json.loads(manifest_raw)
    if platform is not None and "manifests" in manifest:
        [entry] = [m for m in manifest["manifests"]
                   if "/".join([m["platform"]["os"], m["platform"]["architecture"],
                                *([m["platform"]["variant"]] if m["platform"].get("variant") else [])])
                   == platform]
        repository = ref.split("@")[0]
        if ":" in repository.rsplit("/", 1)[-1]:
            repository = repository.rsplit(":", 1)[0]  # the tag
        manifest_raw = subprocess.run(
            ["skopeo", "inspect", "--raw", *_inspect_args(registry),
             f"docker://{repository}@{entry['digest']}"], check=True, capture_output=True).stdout
        manifest = json.loads(manifest_raw)
    config = json.loads(subprocess.run(
        ["skopeo", *override, "inspect", "--config", "--raw", *_inspect_args(registry),
         f"docker://{ref}"], check=True, capture_output=True).stdout)
    layout = workdir / "layout"
    subprocess.run(["skopeo", *override, "copy", "--quiet", *skopeo_tls_args(registry, "src"),
                    "--format", "oci", f"docker://{ref}", f"oci:{layout}:pulled"],
                   check=True, capture_output=True)
    rootfs = workdir / "bundle"
    subprocess.run(["umoci", "raw", "unpack", "--image", f"{layout}:pulled", str(rootfs)],
                   check=True, capture_output=True)
    return PulledImage(manifest=manifest,
                       manifest_digest="sha256:" + hashlib.sha256(manifest_raw).hexdigest(), config=config, rootfs=rootfs, layout=layout)


def _inspect_args(registry: RunningRegistry) -> list[str]:
    # skopeo inspect takes the copy-side flags without the src-/dest- prefix
    return [arg.replace("--src-", "--") for arg in skopeo_tls_args(registry, "src")]


def describe_tree(root: Path) -> dict[str, FileFacts]:
    """Every path under ``root`` ("/etc/passwd" style keys) with its type, mode, owner, content."""
    facts: dict[str, FileFacts] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st = path.lstat()
            key = "/" + str(path.relative_to(root))
            mode = stat.S_IMODE(st.st_mode)
            if stat.S_ISREG(st.st_mode):
                facts[key] = FileFacts("file", mode, st.st_uid, st.st_gid, content=path.read_bytes())
            elif stat.S_ISDIR(st.st_mode):
                facts[key] = FileFacts("dir", mode, st.st_uid, st.st_gid)
            elif stat.S_ISLNK(st.st_mode):
                facts[key] = FileFacts("symlink", mode, st.st_uid, st.st_gid, target=os.readlink(path))
            elif stat.S_ISCHR(st.st_mode):
                facts[key] = FileFacts("char", mode, st.st_uid, st.st_gid)
            elif stat.S_ISBLK(st.st_mode):
                facts[key] = FileFacts("block", mode, st.st_uid, st.st_gid)
            elif stat.S_ISFIFO(st.st_mode):
                facts[key] = FileFacts("fifo", mode, st.st_uid, st.st_gid)
    return facts
