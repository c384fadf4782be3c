"""COPY keeps extended attributes (file capabilities among them), from the context and --from, as
BuildKit's copy does; read back from the layers pushed to the registry."""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import pytest

from tests.commands.support import build_and_pull
from tests.support.registry import RunningRegistry

DOCKERFILE = """\
FROM {base} AS build
COPY tool /stage/tool
FROM {base}
COPY tool /direct/tool
COPY link-to-tool /followed/tool
COPY --from=build --chown=1234:1234 /stage/tool /from-stage/tool
"""


def _layer_xattrs(layout: Path, digest: str) -> dict[str, dict[str, str]]:
    """Each entry's SCHILY.xattr.* PAX records in one layer blob."""
    with tarfile.open(layout / "blobs" / "sha256" / digest.split(":", 1)[1]) as layer:
        return {member.name: {k: v for k, v in member.pax_headers.items()
                              if k.startswith("SCHILY.xattr.")} for member in layer}


def test_copy_keeps_xattrs_from_the_context_and_from_a_stage(
        tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = tmp_path / "context"
    context.mkdir()
    tool = context / "tool"
    tool.write_bytes(b"#!/bin/sh\n")
    try:
        os.setxattr(tool, "user.lamina.origin", b"context")
    except OSError:
        pytest.skip("this filesystem has no user xattrs")
    os.symlink("tool", context / "link-to-tool")  # a symlink source is followed: its target's
    _, pulled = build_and_pull(tmp_path, registry, DOCKERFILE.format(base=busybox_image))
    direct, followed, from_stage = (_layer_xattrs(pulled.layout, layer["digest"])
                                    for layer in pulled.manifest["layers"][-3:])
    assert direct["direct/tool"] == {"SCHILY.xattr.user.lamina.origin": "context"}
    assert followed["followed/tool"] == {"SCHILY.xattr.user.lamina.origin": "context"}
    # --chown happens before the xattrs are set, so nothing it clears is lost
    assert from_stage["from-stage/tool"] == {"SCHILY.xattr.user.lamina.origin": "context"}
