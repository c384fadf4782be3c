"""The fixtures themselves: the registry serves what skopeo pushed, umoci unpacks it."""

from __future__ import annotations

from pathlib import Path

from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry


def test_busybox_base_reads_back(registry: RunningRegistry, busybox_image: str, tmp_path: Path) -> None:
    image = pull_image(registry, busybox_image, tmp_path)
    assert image.manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    tree = image.tree()
    assert tree["/bin/busybox"].kind == "file"
    assert tree["/bin/sh"].target == "/bin/busybox"
    assert tree["/tmp"].mode == 0o1777
    assert tree["/etc/os-release"].content == b"NAME=lamina-busybox\n"
    assert image.run_config["Cmd"] == ["sh"]
