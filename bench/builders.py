"""How the bench runs each builder: lamina's executor, ``buildah bud`` then ``buildah push``, and
``docker build`` then ``docker push`` against a dockerd of the bench's own. Each function runs one
build (and its push) and measures it; what a workload does with them (one build, a cached rebuild,
two platforms) is bench/plans.py's."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.measure import Measurement, in_sequence, measure, tree_rss
from tests.support.docker import (
    BUILD_ENV,
    DOCKER,
    DockerError,
    RunningDocker,
    build_args,
    docker_build,
    start_dockerd,
)

__all__ = ["Docker", "buildah", "docker_daemon", "failed", "lamina", "lamina_command", "proxy_build_args"]

REPO = Path(__file__).resolve().parent.parent
BUILDAH_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
PROXY_VARIABLES = ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY")


def proxy_build_args() -> list[str]:
    """``--build-arg`` flags handing this machine's proxy variables to a build that reaches the
    network (all three builders predefine them as build args), none where it has none."""
    return [arg for name in PROXY_VARIABLES if name in os.environ
            for arg in ("--build-arg", f"{name}={os.environ[name]}")]


def failed(message: str) -> Measurement:
    """A build that could not start (its daemon did not come up): a failed run, its reason kept."""
    return Measurement(seconds=0.0, peak_rss=0, returncode=1, stderr=f"error: {message}\n")


def lamina_command(context: Path, work: Path, destination: str, flags: Sequence[str]) -> list[str]:
    return [sys.executable, "-m", "executor", "--context", str(context), "--root", str(work / "root"),
            "--kaniko-dir", str(work / "kaniko"), "--destination", destination, *flags]


def lamina(context: Path, work: Path, destination: str, flags: Sequence[str], log: Path) -> Measurement:
    """One executor run with a --root and kaniko dir of its own under ``work``."""
    work.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DOCKER_CONFIG": str(work / "no-docker-config"), "PYTHONPATH": str(REPO)}
    return measure(lamina_command(context, work, destination, flags), env=env, cwd=REPO, log=log)


def buildah(context: Path, storage: Path, destination: str, flags: Sequence[str], log: Path, *,
            manifest: str | None = None) -> Measurement:
    """``buildah bud`` then ``buildah push`` as one shell command, so both are in one process tree;
    vfs storage under ``storage`` (kept between builds that share it). With ``manifest`` the build
    adds its images to that manifest list (``--manifest``), pushed with ``manifest push --all``."""
    opts = f"--root {storage}/storage --runroot {storage}/run --storage-driver vfs"
    name = manifest or "bench-image"
    target = f"--manifest {name}" if manifest else f"-t {name}"
    push = (f"buildah {opts} manifest push --all" if manifest else f"buildah {opts} push")
    script = (f"buildah {opts} bud --isolation chroot --format docker --tls-verify=false --quiet "
              f"{' '.join(flags)} -f {context}/Dockerfile {target} {context} && "
              f"{push} --tls-verify=false --quiet {name} docker://{destination}")
    return measure(["sh", "-c", script], env={**BUILDAH_ENV, "HOME": str(storage)}, log=log)


@dataclass(frozen=True)
class Docker:
    """A dockerd of the bench's own, warmed up; ``idle_rss`` its process tree's memory at rest."""

    daemon: RunningDocker
    tree: int  # tini's pid: the subreaper over dockerd and whatever it leaves
    idle_rss: int

    def build(self, context: Path, destination: str, flags: Sequence[str], log: Path) -> Measurement:
        """``docker build`` then ``docker push``, measured one after the other; memory is the CLI's
        process tree plus the daemon's (containerd, runc and the RUN steps), sampled together."""
        env = self.daemon.env(**BUILD_ENV)
        build = measure([str(DOCKER), *build_args(context, destination, *flags)], env=env,
                        log=log.with_name(log.name + ".build"), also=(self.tree,))
        phases = [("build", build)]
        if build.returncode == 0:
            phases.append(("push", measure([str(DOCKER), "push", destination], env=env,
                                           log=log.with_name(log.name + ".push"), also=(self.tree,))))
        result = in_sequence(phases)
        log.write_text(result.stderr)
        return result


@contextlib.contextmanager
def docker_daemon(work: Path, insecure_registries: Sequence[str]) -> Iterator[Docker]:
    """A dockerd with its data root under ``work``: no build cache and no image, so the base is
    pulled as lamina and buildah pull it. Its start is not timed; a ``FROM scratch`` build, then
    removed and pruned, warms BuildKit up first, as on a daemon already running. Raises
    DockerError when the daemon does not start or warm up."""
    with start_dockerd(work / "docker", insecure_registries=insecure_registries) as daemon:
        _warm_up(daemon, work / "warm-up")
        tree = _parent(daemon.pid)
        yield Docker(daemon=daemon, tree=tree, idle_rss=tree_rss(tree))


def _warm_up(docker: RunningDocker, directory: Path) -> None:
    """One build that pulls nothing, then ``docker image rm`` and ``docker builder prune -af``: the
    daemon is warm and holds no image and no build cache."""
    directory.mkdir()
    (directory / "Dockerfile").write_text("FROM scratch\nLABEL bench=warm-up\n")
    docker_build(docker, directory, "bench-warm-up")
    docker.run("image", "rm", "bench-warm-up")
    docker.run("builder", "prune", "-af")
    left = docker.run("image", "ls", "-aq").stdout.split()
    if left:
        raise DockerError(f"dockerd at {docker.host} still holds images {left} before the build")


def _parent(pid: int) -> int:
    with open(f"/proc/{pid}/stat", "rb") as f:
        return int(f.read().rsplit(b")", 1)[1].split()[1])
