"""Images as values: a layer reopens its bytes, compressed or as the tar they hold."""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

from executor.image import FileLayer, Image


def _layer(tmp_path: Path) -> tuple[FileLayer, bytes]:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as tar:
        info = tarfile.TarInfo("hello.txt")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"hello\n"))
    compressed = gzip.compress(raw.getvalue())
    path = tmp_path / "layer.tar.gz"
    path.write_bytes(compressed)
    layer = FileLayer(path=path, digest="sha256:" + hashlib.sha256(compressed).hexdigest(),
                      diff_id="sha256:" + hashlib.sha256(raw.getvalue()).hexdigest(), size=len(compressed))
    return layer, raw.getvalue()


def test_a_layer_reopens_as_its_tar_from_the_start_each_time(tmp_path: Path) -> None:
    layer, tar_bytes = _layer(tmp_path)
    for _ in range(2):
        with layer.uncompressed() as stream:
            data = stream.read()
        assert data == tar_bytes
        assert "sha256:" + hashlib.sha256(data).hexdigest() == layer.diff_id
    assert layer.mount_source is None  # a spooled layer lives in no repository yet


def test_images_are_values(tmp_path: Path) -> None:
    layer, _ = _layer(tmp_path)
    empty = Image.empty()
    grown = empty.with_layer(layer, {"created_by": "test"})
    assert empty.layers == () and empty.config["rootfs"]["diff_ids"] == []
    assert grown.layers == (layer,) and grown.config["rootfs"]["diff_ids"] == [layer.diff_id]
