"""Build from a context source and read the image back; archives made in memory for the tests."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from pathlib import Path

from tests.support.executor import ExecutorRun, run_executor
from tests.support.readback import pull_image
from tests.support.registry import RunningRegistry

# Every context in these tests carries this Dockerfile: the base comes in as a build arg, and
# the whole context is copied so the image shows exactly which files the context had.
DOCKERFILE = "ARG BASE\nFROM ${BASE}\nCOPY . /ctx/\n"


def context_tar(files: dict[str, str | bytes], *, gz: bool = True, prefix: str = "") -> bytes:
    """A context archive: ``files`` (Dockerfile included unless given) under ``prefix``."""
    files = {"Dockerfile": DOCKERFILE, **files}
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if gz else "w") as tar:
        for name, content in files.items():
            data = content.encode() if isinstance(content, str) else content
            info = tarfile.TarInfo(prefix + name)
            info.size, info.mode, info.mtime = len(data), 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def dest_name(tmp_path: Path) -> str:
    return tmp_path.name[-30:].lower().replace("_", "-").strip("-.") or "t"


def build_from(tmp_path: Path, registry: RunningRegistry, busybox_image: str, context: str,
               *args: str, env: dict[str, str] | None = None, stdin: bytes | None = None
               ) -> tuple[ExecutorRun, str]:
    destination = registry.ref("contexts/" + dest_name(tmp_path))
    flags = ("--destination", destination, "--build-arg", f"BASE={busybox_image}", *args)
    if stdin is None:
        return run_executor(tmp_path, context, *flags, env=env), destination  # type: ignore[arg-type]
    return run_with_stdin(tmp_path, context, stdin, *flags, env=env), destination


def run_with_stdin(workdir: Path, context: str, stdin: bytes, *args: str,
                   env: dict[str, str] | None = None) -> ExecutorRun:
    """``run_executor``, with a real pipe on standard input (``tar://stdin``)."""
    root, kaniko_dir = workdir / "root", workdir / "kaniko"
    result = subprocess.run(
        [sys.executable, "-m", "executor", "--context", context, "--root", str(root),
         "--kaniko-dir", str(kaniko_dir), *args],
        input=stdin, capture_output=True, timeout=300,
        env={**os.environ, "DOCKER_CONFIG": str(workdir / "no-docker-config"), **(env or {})})
    return ExecutorRun(result.returncode, result.stdout.decode(), result.stderr.decode(), root,
                       kaniko_dir)


def context_files(registry: RunningRegistry, destination: str, workdir: Path) -> dict[str, bytes]:
    """The files the image's /ctx holds (what COPY . /ctx/ took from the context)."""
    image = pull_image(registry, destination, workdir / "pulled")
    return {path[len("/ctx/"):]: facts.content for path, facts in image.tree().items()
            if path.startswith("/ctx/") and facts.kind == "file" and facts.content is not None}


def manifest_exists(registry: RunningRegistry, ref: str) -> bool:
    result = subprocess.run(["skopeo", "inspect", "--raw", "--tls-verify=false", f"docker://{ref}"],
                            capture_output=True)
    return result.returncode == 0


def assert_one_line_error(run: ExecutorRun, *fragments: str) -> str:
    assert run.returncode != 0, run.stderr
    assert len(run.error_lines) == 1, run.stderr
    assert "Traceback" not in run.stderr, run.stderr
    for fragment in fragments:
        assert fragment in run.error_lines[0], run.error_lines[0]
    return run.error_lines[0]


# --- git repositories to serve ----------------------------------------------------------

def git(cwd: Path, *args: str) -> str:
    env = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
           "GIT_COMMITTER_EMAIL": "t@example.com", "HOME": str(cwd), "PATH": "/usr/bin:/bin",
           "GIT_CONFIG_NOSYSTEM": "1"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


def commit_files(work: Path, message: str, files: dict[str, str]) -> str:
    for name, content in files.items():
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text(content)
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", message)
    return git(work, "rev-parse", "HEAD")


def publish(work: Path, bare: Path) -> None:
    """Push every branch and tag of ``work`` to a new bare repository served over http."""
    bare.parent.mkdir(parents=True, exist_ok=True)
    git(work.parent, "init", "-q", "--bare", str(bare))
    git(work, "push", "-q", str(bare), "--all")
    git(work, "push", "-q", str(bare), "--tags")
    git(bare, "symbolic-ref", "HEAD", "refs/heads/main")
