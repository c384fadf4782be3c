"""Why two images that should be the same are not: the first differing blob of two OCI layouts,
and for a layer, the first differing tar entries (name, header fields, content)."""

from __future__ import annotations

import difflib
import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

_FIELDS = ("type", "mode", "uid", "gid", "uname", "gname", "size", "mtime", "linkname",
           "devmajor", "devminor")


def read_blob(layout: Path, digest: str) -> bytes:
    return (layout / "blobs" / "sha256" / digest.split(":", 1)[1]).read_bytes()


def read_manifest(layout: Path) -> tuple[bytes, dict]:  # type: ignore[type-arg]
    index = json.loads((layout / "index.json").read_text())
    data = read_blob(layout, index["manifests"][0]["digest"])
    return data, json.loads(data)


def _tar(blob: bytes) -> bytes:
    return gzip.decompress(blob) if blob[:2] == b"\x1f\x8b" else blob


def tar_entries(blob: bytes) -> list[tuple[tarfile.TarInfo, bytes]]:
    entries = []
    with tarfile.open(fileobj=io.BytesIO(_tar(blob)), mode="r:") as tar:
        for member in tar:
            body = tar.extractfile(member)
            entries.append((member, body.read() if body else b""))
    return entries


def _describe(member: tarfile.TarInfo, body: bytes) -> str:
    fields = " ".join(f"{name}={getattr(member, name)!r}" for name in _FIELDS)
    return (f"{member.name}: {fields} pax={member.pax_headers!r} "
            f"content sha256:{hashlib.sha256(body).hexdigest()[:16]} {body[:64]!r}")


def diff_layers(first: bytes, second: bytes) -> str:
    """The first differing entries of two layer blobs, or how the blobs differ if every entry
    is the same (the compressed stream, the tar's padding)."""
    a, b = tar_entries(first), tar_entries(second)
    for index, (left, right) in enumerate(zip(a, b)):
        da, db = _describe(*left), _describe(*right)
        if da != db or left[1] != right[1]:
            detail = "\n".join(difflib.unified_diff([da], [db], "first", "second", lineterm=""))
            return f"entry {index} differs:\n{detail}"
    if len(a) != len(b):
        longer, which = (a, "first") if len(a) > len(b) else (b, "second")
        extra = [_describe(*entry) for entry in longer[min(len(a), len(b)):]][:5]
        return f"the {which} layer has {abs(len(a) - len(b))} more entries: " + "; ".join(extra)
    raw_a, raw_b = _tar(first), _tar(second)
    if raw_a != raw_b:
        at = next((i for i, (x, y) in enumerate(zip(raw_a, raw_b)) if x != y),
                  min(len(raw_a), len(raw_b)))
        return f"same entries, tars differ at byte {at}: {raw_a[at:at + 32]!r} vs {raw_b[at:at + 32]!r}"
    return f"same tar, compressed blobs differ (gzip header {first[:10]!r} vs {second[:10]!r})"


def diff_layouts(first: Path, second: Path) -> str:
    """Where the images in two OCI layouts first differ ("" when their manifests are equal)."""
    raw_a, manifest_a = read_manifest(first)
    raw_b, manifest_b = read_manifest(second)
    if raw_a == raw_b:
        return ""
    lines = []
    config_a = json.loads(read_blob(first, manifest_a["config"]["digest"]))
    config_b = json.loads(read_blob(second, manifest_b["config"]["digest"]))
    if config_a != config_b:
        text_a = json.dumps(config_a, indent=1, sort_keys=True).splitlines()
        text_b = json.dumps(config_b, indent=1, sort_keys=True).splitlines()
        lines.append("config differs:\n" + "\n".join(
            difflib.unified_diff(text_a, text_b, "first", "second", lineterm="", n=1)))
    for number, (layer_a, layer_b) in enumerate(zip(manifest_a["layers"], manifest_b["layers"])):
        if layer_a["digest"] != layer_b["digest"]:
            lines.append(f"layer {number} differs ({layer_a['digest'][:19]} vs {layer_b['digest'][:19]}): "
                         + diff_layers(read_blob(first, layer_a["digest"]), read_blob(second, layer_b["digest"])))
            break
    if not lines:
        lines.append("manifests differ:\n" + "\n".join(difflib.unified_diff(
            [raw_a.decode()], [raw_b.decode()], "first", "second", lineterm="")))
    return "\n".join(lines)
