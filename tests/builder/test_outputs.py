"""--no-push with --tar-path: a tarball skopeo reads, and nothing in the registry."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.support.executor import run_executor, write_context
from tests.support.readback import describe_tree
from tests.support.registry import RunningRegistry


def test_tarball_without_push(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {busybox_image}\nRUN echo hi > /hi\nCMD [\"cat\", \"/hi\"]\n")
    tarball, destination = tmp_path / "out/image.tar", registry.ref("outputs/notpushed")
    run = run_executor(tmp_path, context, "--destination", destination, "--no-push",
                       "--tar-path", str(tarball), "--digest-file", str(tmp_path / "digest"))
    assert run.returncode == 0, run.stderr
    assert not [p for p in tarball.parent.iterdir() if p.name != "image.tar"]  # no partial files
    layout = tmp_path / "layout"
    subprocess.run(["skopeo", "copy", "--quiet", f"docker-archive:{tarball}", f"oci:{layout}:x"],
                   check=True, capture_output=True)
    subprocess.run(["umoci", "raw", "unpack", "--image", f"{layout}:x", str(tmp_path / "fs")],
                   check=True, capture_output=True)
    tree = describe_tree(tmp_path / "fs")
    assert tree["/hi"].content == b"hi\n"
    assert tree["/bin/busybox"].kind == "file"
    config = json.loads(subprocess.run(["skopeo", "inspect", "--config", f"docker-archive:{tarball}"],
                                       check=True, capture_output=True).stdout)
    assert config["config"]["Cmd"] == ["cat", "/hi"]
    inspect = subprocess.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{destination}"],
                             capture_output=True)
    assert inspect.returncode != 0
    assert (tmp_path / "digest").read_text().startswith("sha256:")
