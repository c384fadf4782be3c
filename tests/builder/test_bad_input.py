"""Bad input: one line naming the problem, a non-zero exit, and no manifest pushed."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.executor import ExecutorRun, run_executor, write_context
from tests.support.images import skopeo_push, write_oci_layout
from tests.support.inprocess import InProcessRun, build_in_process
from tests.support.registry import RunningRegistry, free_port, run_registry


def manifest_exists(registry: RunningRegistry, ref: str) -> bool:
    result = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                            capture_output=True)
    return result.returncode == 0


def assert_failed(run: ExecutorRun | InProcessRun, *fragments: str, code: int | None = None) -> str:
    log = run.stderr if isinstance(run, ExecutorRun) else "\n".join(run.messages)
    assert run.returncode != 0, log
    if code is not None:
        assert run.returncode == code, log
    errors = run.error_lines
    assert len(errors) == 1, log
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    assert "Traceback" not in log
    return errors[0]


def build(tmp_path: Path, registry: RunningRegistry, dockerfile: str, *args: str,
          files: dict[str, str | bytes] | None = None, dest_repo: str = "bad/input",
          in_process: bool = True) -> tuple[ExecutorRun | InProcessRun, str]:
    """The build as the CLI runs it; in this process unless the CLI's own exit is the point."""
    context = write_context(tmp_path / "context", dockerfile, files)
    destination = registry.ref(dest_repo, tmp_path.name[-20:].lower().replace("_", "-").strip("-") or "t")
    runner = build_in_process if in_process else run_executor
    return runner(tmp_path, context, "--destination", destination, *args), destination


def test_missing_dockerfile(tmp_path: Path, registry: RunningRegistry) -> None:
    context = tmp_path / "context"
    context.mkdir()
    run = run_executor(tmp_path, context, "--destination", registry.ref("bad/missing"))
    assert_failed(run, "Dockerfile", "does not exist")
    assert not manifest_exists(registry, registry.ref("bad/missing"))


def test_unknown_instruction_names_the_line(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    run, dest = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\nFROBNICATE now\n")
    assert_failed(run, ":3:", "FROBNICATE")
    assert not manifest_exists(registry, dest)


def test_bad_syntax_names_the_line(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    run, dest = build(tmp_path, registry, f"FROM {busybox_image}\n\nCOPY onlyone\n")
    assert_failed(run, ":3:", "COPY")
    assert not manifest_exists(registry, dest)


def test_base_image_not_found(tmp_path: Path, registry: RunningRegistry) -> None:
    run, dest = build(tmp_path, registry, f"FROM {registry.host}/does/not-exist:1.0\nRUN true\n")
    assert_failed(run, "does/not-exist", "UNKNOWN")
    assert not manifest_exists(registry, dest)


def test_registry_unreachable(tmp_path: Path, registry: RunningRegistry) -> None:
    run, dest = build(tmp_path, registry, f"FROM 127.0.0.1:{free_port()}/busybox\nRUN true\n")
    assert_failed(run, "127.0.0.1")
    assert not manifest_exists(registry, dest)


def test_run_failure_exits_with_its_code(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    run, dest = build(tmp_path, registry, f"FROM {busybox_image}\nRUN echo one > /one\nRUN exit 7\n",
                      in_process=False)
    assert_failed(run, ":3:", "7", code=7)
    assert not manifest_exists(registry, dest)


def test_copy_source_missing(tmp_path: Path, registry: RunningRegistry, busybox_image: str) -> None:
    run, dest = build(tmp_path, registry, f"FROM {busybox_image}\nCOPY nothere.txt /x\n")
    assert_failed(run, ":2:", "nothere.txt")
    assert not manifest_exists(registry, dest)


def test_copy_source_bad_wildcard_names_the_line(tmp_path: Path, registry: RunningRegistry,
                                                  busybox_image: str) -> None:
    # Go's filepath.Match refuses an unclosed class (ErrBadPattern); it is not a literal "[a"
    run, dest = build(tmp_path, registry, f"FROM {busybox_image}\nRUN true\nCOPY [a*.txt /x/\n",
                      files={"[a.txt": "a\n", "ab.txt": "b\n"})
    assert_failed(run, ":3:", "[a*.txt", "syntax error in pattern")
    assert not manifest_exists(registry, dest)


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningRegistry]:
    with run_registry(tmp_path_factory.mktemp("authreg"), tls=True, username="builder",
                      password="right") as running:
        yield running


def _docker_config(directory: Path, host: str, username: str, password: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    auth = base64.b64encode(f"{username}:{password}".encode()).decode()
    (directory / "config.json").write_text(json.dumps({"auths": {host: {"auth": auth}}}))
    return directory


@pytest.mark.parametrize("password", ["wrong", None])
def test_wrong_or_missing_credentials(tmp_path: Path, auth_registry: RunningRegistry,
                                      password: str | None) -> None:
    env = {}
    if password is not None:
        env["DOCKER_CONFIG"] = str(_docker_config(tmp_path / "docker", auth_registry.host, "builder", password))
    context = write_context(tmp_path / "context", "FROM scratch\nCOPY Dockerfile /\n")
    dest = auth_registry.ref("private/app")
    run = run_executor(tmp_path, context, "--destination", dest, "--skip-tls-verify", env=env)
    assert_failed(run, "401", auth_registry.host)


def test_layer_entry_escaping_the_root_is_clamped_as_containerd_does(
        tmp_path: Path, registry: RunningRegistry) -> None:
    # A symlink climbing above the root, then an entry through it: containerd resolves it with
    # the root as "/" for the layer, so the file lands inside the root, never outside it.
    sentinel = tmp_path / "outside"
    sentinel.mkdir()
    evil = io.BytesIO()
    with tarfile.open(fileobj=evil, mode="w") as tar:
        link = tarfile.TarInfo("escape")
        link.type, link.linkname = tarfile.SYMTYPE, "../outside"
        tar.addfile(link)
        data = b"pwned\n"
        info = tarfile.TarInfo("escape/pwned")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layout = tmp_path / "evil-layout"
    write_oci_layout(layout, "latest", [evil.getvalue()], {})
    base = skopeo_push(f"oci:{layout}:latest", registry, "evil/base", "latest")
    run, dest = build(tmp_path, registry, f"FROM {base}\nCOPY Dockerfile /\n")
    assert run.returncode == 0, run.error_lines
    assert list(sentinel.iterdir()) == []
    assert (tmp_path / "root" / "outside" / "pwned").read_text() == "pwned\n"
    assert os.readlink(tmp_path / "root" / "escape") == "../outside"  # the link itself as written
    assert manifest_exists(registry, dest)
