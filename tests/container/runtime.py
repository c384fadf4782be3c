"""A container runtime in miniature: the bundled ``/kaniko/executor`` as PID 1 of new mount and PID
namespaces, chrooted into a root that holds nothing but ``/kaniko`` and what a runtime mounts.

As with ``docker run``, the runtime provides ``/proc``, ``/dev``, ``/sys``, ``/etc/hosts`` and
``/etc/resolv.conf`` and the volumes (here the build context at ``/workspace``); the network namespace
stays the host's, so the test registry on 127.0.0.1 is reachable. Every mount lives in the new mount
namespace and goes away with it; the kernel kills whatever is left when PID 1 exits.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.support.executor import write_context
from tests.support.readback import FileFacts, pull_image
from tests.support.registry import RunningRegistry

REPO = Path(__file__).resolve().parents[2]
BUNDLE_SCRIPT = REPO / "scripts" / "bundle-kaniko-dir"

# What Dockerfile.executor sets with ENV (as kaniko's image does); ``container`` is the marker
# container runtimes such as podman set, which lets the executor build on / without --force.
IMAGE_ENV = {
    "PATH": "/usr/local/bin:/kaniko",
    "HOME": "/root",
    "USER": "root",
    "SSL_CERT_DIR": "/kaniko/ssl/certs",
    "DOCKER_CONFIG": "/kaniko/.docker/",
    "container": "lamina-test",
}


@dataclass(frozen=True)
class ContainerRoot:
    """A root directory laid out as a fresh container of the executor image."""

    root: Path
    context: Path  # host directory mounted read-only at /workspace
    volumes: dict[str, Path] = field(default_factory=dict)  # extra target -> host source

    @classmethod
    def create(cls, directory: Path, bundle: Path, context: Path,
               extra: dict[str, Path] | None = None) -> ContainerRoot:
        root = directory / "root"
        root.mkdir(parents=True)
        # Hard links: quick, and the executor never rewrites its own files in place.
        subprocess.run(["cp", "-al", str(bundle), str(root / "kaniko")], check=True)
        for name in extra or {}:
            subprocess.run(["cp", "-al", str((extra or {})[name]), str(root / name)], check=True)
        return cls(root=root, context=context)

    def entries(self) -> list[str]:
        return sorted(os.listdir(self.root))

    def _setup_script(self) -> str:
        root = shlex.quote(str(self.root))
        lines = ["set -e", "r=" + root,
                 "mkdir -p $r/dev $r/sys $r/etc $r/workspace",
                 "mount --rbind /dev $r/dev",
                 "mount --bind /sys $r/sys && mount -o remount,bind,ro $r/sys",
                 "for f in hosts resolv.conf; do touch $r/etc/$f; mount --bind /etc/$f $r/etc/$f; done",
                 f"mount --bind {shlex.quote(str(self.context))} $r/workspace",
                 "mount -o remount,bind,ro $r/workspace"]
        for target, source in self.volumes.items():
            lines.append(f"mkdir -p $r/{target} && mount --bind {shlex.quote(str(source))} $r/{target}")
        # The tools above come from the host; the executor gets the image's PATH.
        lines.append(f'c=$(command -v chroot); export PATH={shlex.quote(IMAGE_ENV["PATH"])}; exec "$c" "$r" "$@"')
        return "\n".join(lines)

    def start(self, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        """Start ``argv`` (inside paths) as PID 1; stdout and stderr are captured."""
        (self.root / "proc").mkdir(exist_ok=True)
        command = ["unshare", "--mount", "--pid", "--fork", f"--mount-proc={self.root}/proc",
                   "/bin/sh", "-c", self._setup_script(), "sh", *argv]
        host_path = os.environ.get("PATH", os.defpath)
        return subprocess.Popen(command, env={**IMAGE_ENV, **(env or {}), "PATH": host_path},
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

    def run(self, argv: list[str], env: dict[str, str] | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess[str]:
        process = self.start(argv, env)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            stdout, stderr = process.communicate()
            raise AssertionError(f"container still running after {timeout}s:\n{stderr}") from None
        return subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)


def namespace_init(unshare: subprocess.Popen[str], timeout: float = 10) -> int:
    """The host PID of the namespace's PID 1: the child ``unshare --fork`` started."""
    deadline = time.monotonic() + timeout
    children = Path(f"/proc/{unshare.pid}/task/{unshare.pid}/children")
    while time.monotonic() < deadline:
        pids = children.read_text().split()
        if pids:
            return int(pids[0])
        time.sleep(0.05)
    raise AssertionError("unshare started no child")


def build_as_pid1(workdir: Path, bundle: Path, registry: RunningRegistry, repository: str,
                  dockerfile: str) -> dict[str, FileFacts]:
    """Build ``dockerfile`` in a fresh container of ``bundle``, push, and read the image back."""
    context = write_context(workdir / "context", dockerfile)
    container = ContainerRoot.create(workdir, bundle, context)
    ref = registry.ref(repository)
    result = container.run(executor_args(ref))
    assert result.returncode == 0, result.stderr
    return pull_image(registry, ref, workdir / "pulled").tree()


def executor_args(destination: str, *extra: str) -> list[str]:
    return ["/kaniko/executor", "--context", "dir:///workspace", "--destination", destination, *extra]


def make_bundle(dest: Path) -> Path:
    """Run scripts/bundle-kaniko-dir with the Python running the tests; returns ``dest/kaniko``."""
    result = subprocess.run([sys.executable, str(BUNDLE_SCRIPT), str(dest)], capture_output=True,
                            text=True, cwd=REPO)
    if result.returncode != 0:
        raise AssertionError(f"bundle-kaniko-dir failed: {result.stderr}")
    return dest / "kaniko"
