"""The hostile corpus under ``docker run`` of the executor image, as CI runs it (container mode,
building on / of its own container): the same verdicts as in sandbox mode (tests/hostile/).
The case that needs no RUN at all comes first: a context link to the mounted credentials."""

from __future__ import annotations

import base64
import json
import os
import tarfile
from pathlib import Path

import pytest

from tests.container.images import layer_files, pushed_blobs, run_executor_image
from tests.hostile.conftest import entry, push_base, pushed, tar_of
from tests.support.docker import RunningDocker
from tests.support.executor import write_context
from tests.support.registry import RunningRegistry

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def _one_error(code: int, log: str, *fragments: str) -> str:
    errors = [line for line in log.splitlines() if line.startswith("error:")]
    assert code != 0 and len(errors) == 1 and "Traceback" not in log, log[-2000:]
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert len(errors[0]) < 400
    return errors[0]


def test_a_context_link_to_the_mounted_credentials_is_not_found(
        tmp_path: Path, docker: RunningDocker, executor_image: str, registry: RunningRegistry,
        busybox_image: str) -> None:
    secret = base64.b64encode(os.urandom(18)).decode()
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"auths": {"registry.example": {"auth": secret}}}))
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nCOPY leak /leak\n")
    os.symlink("/kaniko/.docker/config.json", context / "leak")
    destination = registry.ref("hostile-image/leak")
    code, log = run_executor_image(docker, executor_image, context, "--destination", destination,
                                   volumes={config: "/kaniko/.docker/config.json"})
    _one_error(code, log, ":2:", "not found")
    assert secret not in log and not pushed(destination)


LAYER_CASES = {
    "nul-name": (lambda: [tar_of((_pax(entry("a"), {"path": "evil\x00name"}), b"x"))], "NUL byte"),
    "long-name": (lambda: [tar_of((entry("n" * (2 << 20)), b"x"), fmt=tarfile.GNU_FORMAT)], "extended header"),
    "checksum": (lambda: [_corrupt(tar_of((entry("f"), b"x\n")))], "checksum"),
}


def _pax(info: tarfile.TarInfo, headers: dict[str, str]) -> tarfile.TarInfo:
    info.pax_headers = headers
    return info


def _corrupt(layer: bytes) -> bytes:
    data = bytearray(layer)
    data[148:156] = b"9999999\0"
    return bytes(data)


@pytest.mark.parametrize("case", sorted(LAYER_CASES))
def test_hostile_base_layers_are_one_clean_error(tmp_path: Path, docker: RunningDocker, executor_image: str,
                                                 registry: RunningRegistry, case: str) -> None:
    make, fragment = LAYER_CASES[case]
    base = push_base(registry, tmp_path, f"image-{case}", make())
    context = write_context(tmp_path / "context", f"FROM {base}\nCOPY Dockerfile /built\n")
    destination = registry.ref("hostile-image/layers", case)
    code, log = run_executor_image(docker, executor_image, context, "--destination", destination)
    line = _one_error(code, log, fragment)
    assert "nnnnnnnnnnnnnnnnnnnnnnnn" not in line and not pushed(destination)


def test_a_lying_diff_id_is_refused(tmp_path: Path, docker: RunningDocker, executor_image: str,
                                    registry: RunningRegistry) -> None:
    base = push_base(registry, tmp_path, "image-diffid", [tar_of((entry("f"), b"x\n"))],
                     diff_ids=["sha256:" + "0" * 64])
    context = write_context(tmp_path / "context", f"FROM {base}\nCOPY Dockerfile /built\n")
    destination = registry.ref("hostile-image/diffid")
    code, log = run_executor_image(docker, executor_image, context, "--destination", destination)
    _one_error(code, log, "diff id")
    assert not pushed(destination)


def test_escaping_layer_entries_land_inside_the_image(tmp_path: Path, docker: RunningDocker,
                                                      executor_image: str, registry: RunningRegistry,
                                                      busybox_image: str) -> None:
    layer = tar_of((entry("/abs.txt"), b"absolute\n"),
                   (entry("up", tarfile.SYMTYPE, linkname="../../../../kaniko-out"), None),
                   (entry("up/climbed.txt"), b"climbed\n"))
    base = push_base(registry, tmp_path, "image-escape", [layer])
    # the hostile stage is extracted over / of the executor's own container; where its entries
    # landed is what the next stage copies out of it
    context = write_context(tmp_path / "context", f"FROM {base} AS evil\nCOPY Dockerfile /built\n"
                            f"FROM {busybox_image}\nCOPY --from=evil /abs.txt /kaniko-out/climbed.txt /seen/\n")
    destination = registry.ref("hostile-image/escape")
    code, log = run_executor_image(docker, executor_image, context, "--destination", destination)
    assert code == 0, log[-2000:]
    files = layer_files(pushed_blobs(registry, "hostile-image/escape"))
    assert files["seen/abs.txt"] == b"absolute\n" and files["seen/climbed.txt"] == b"climbed\n"
