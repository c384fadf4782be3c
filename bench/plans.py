"""What one builder does in one run of a workload, by the workload's plan: one timed build
(``once``); a first build, then the timed second one from that builder's cache (``cached``); or one
build for two platforms, and for lamina also one build per platform (``platforms``). Each run
happens in ``work``, a fresh filesystem of its own (bench/filesystem.py)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from bench.builders import Docker, buildah, docker_daemon, failed, lamina, proxy_build_args
from bench.measure import Measurement, in_sequence
from bench.report import Outcome
from bench.workloads import PLATFORMS, Workload
from tests.registry.servers import FlakyProxy
from tests.support.docker import DockerError

__all__ = ["Setting", "base_blob_gets", "run_builder"]


@dataclass(frozen=True)
class Setting:
    """A workload's inputs, shared by its runs. lamina may see the registry under another name:
    through ``counter`` (a proxy recording every request), so that a test-like count of its blob
    GETs is possible; buildah and docker always talk to the registry itself."""

    workload: Workload
    context: Path
    host: str  # the registry's host:port, for buildah and docker
    lamina_context: Path
    lamina_host: str
    lamina_flags: tuple[str, ...] = ()  # --lamina-arg
    counter: FlakyProxy | None = None
    base_layers: tuple[str, ...] = ()  # digests of the base's layers, for the cached plan

    def destination(self, builder: str, host: str, suffix: str = "") -> str:
        return f"{host}/bench-{self.workload.name}:{builder}{suffix}"

    @property
    def flags(self) -> list[str]:
        """Every builder's flags for this workload."""
        return proxy_build_args() if self.workload.network else []


def run_builder(builder: str, setting: Setting, work: Path, number: int) -> Outcome:
    plan = setting.workload.plan
    if builder == "lamina":
        return _LAMINA[plan](setting, work, number)
    if builder == "buildah":
        return _BUILDAH[plan](setting, work)
    try:
        with docker_daemon(work, [setting.host]) as docker:
            outcome = _DOCKER[plan](setting, work, docker)
            return dataclasses.replace(outcome, idle_rss=docker.idle_rss,
                                       storage_driver=docker.daemon.storage_driver)
    except DockerError as exc:
        (work / "docker.log").write_text(f"{exc}\n{exc.output}")
        return Outcome(failed(f"{str(exc).splitlines()[0]}\n{exc.output}"), storage_driver="none")


# --- lamina ---------------------------------------------------------------------------------------

def _lamina_once(s: Setting, work: Path, number: int) -> Outcome:
    return Outcome(lamina(s.lamina_context, work, s.destination("lamina", s.lamina_host),
                          [*s.lamina_flags, *s.flags], work / "lamina.log"))


def _lamina_cached(s: Setting, work: Path, number: int) -> Outcome:
    """Two builds, each from a fresh --root and kaniko dir as two CI jobs: only the registry
    (the cache repository, one a run, so that each run's first build is cold) links them."""
    flags = [*s.lamina_flags, *s.flags, "--cache", "--cache-repo",
             f"{s.lamina_host}/bench-{s.workload.name}/cache-{number}"]
    destination = s.destination("lamina", s.lamina_host)
    first = lamina(s.lamina_context, work / "first", destination, flags, work / "lamina-first.log")
    if first.returncode != 0:
        return Outcome(first, first=first)
    assert s.counter is not None
    s.counter.seen.clear()
    second = lamina(s.lamina_context, work / "second", destination, flags, work / "lamina.log")
    return Outcome(second, first=first, base_blob_gets=base_blob_gets(s.counter.seen, s.base_layers))


def _lamina_platforms(s: Setting, work: Path, number: int) -> Outcome:
    """One build for both platforms, then one build a platform, each with its own root."""
    flags = [*s.lamina_flags, *s.flags]
    both = lamina(s.lamina_context, work / "both", s.destination("lamina", s.lamina_host),
                  [*flags, "--custom-platform", ",".join(PLATFORMS)], work / "lamina.log")
    singles = []
    for platform in PLATFORMS:
        arch = platform.rsplit("/", 1)[1]
        singles.append((platform, lamina(
            s.lamina_context, work / arch, s.destination("lamina", s.lamina_host, f"-{arch}"),
            [*flags, "--custom-platform", platform], work / f"lamina-{arch}.log")))
    return Outcome(both, split=in_sequence(singles))


def base_blob_gets(seen: list[str], base_layers: tuple[str, ...]) -> int:
    """How many of the requests a FlakyProxy saw (``"GET /v2/.../blobs/sha256:..."``) fetched a
    layer of the base, as tests/cache/test_lookahead.py counts them."""
    return sum(1 for request in seen if request.startswith("GET ") and "/blobs/" in request
               and request.rsplit("/", 1)[1] in base_layers)


# --- buildah --------------------------------------------------------------------------------------

def _buildah_once(s: Setting, work: Path) -> Outcome:
    return Outcome(buildah(s.context, work, s.destination("buildah", s.host), s.flags,
                           work / "buildah.log"))


def _buildah_cached(s: Setting, work: Path) -> Outcome:
    """``--layers`` twice on the same storage: the second build's steps come from the first's."""
    flags, destination = [*s.flags, "--layers"], s.destination("buildah", s.host)
    first = buildah(s.context, work, destination, flags, work / "buildah-first.log")
    if first.returncode != 0:
        return Outcome(first, first=first)
    return Outcome(buildah(s.context, work, destination, flags, work / "buildah.log"), first=first)


def _buildah_platforms(s: Setting, work: Path) -> Outcome:
    return Outcome(buildah(s.context, work, s.destination("buildah", s.host),
                           [*s.flags, "--platform", ",".join(PLATFORMS)], work / "buildah.log",
                           manifest=f"bench-{s.workload.name}"))


# --- docker ---------------------------------------------------------------------------------------

def _docker_once(s: Setting, work: Path, docker: Docker) -> Outcome:
    return Outcome(docker.build(s.context, s.destination("docker", s.host), s.flags, work / "docker.log"))


def _docker_cached(s: Setting, work: Path, docker: Docker) -> Outcome:
    """The second build on the same daemon, whose BuildKit cache holds the first's steps."""
    destination = s.destination("docker", s.host)
    first = docker.build(s.context, destination, s.flags, work / "docker-first.log")
    if first.returncode != 0:
        return Outcome(first, first=first)
    return Outcome(docker.build(s.context, destination, s.flags, work / "docker.log"), first=first)


def _docker_platforms(s: Setting, work: Path, docker: Docker) -> Outcome:
    """dockerd 20.10 without buildx builds one platform at a time (``--platform``) and cannot
    push an index: two builds and two pushes, one after the other on the same daemon."""
    runs: list[Measurement] = []
    for platform in PLATFORMS:
        arch = platform.rsplit("/", 1)[1]
        runs.append(docker.build(s.context, s.destination("docker", s.host, f"-{arch}"),
                                 [*s.flags, "--platform", platform], work / f"docker-{arch}.log"))
        if runs[-1].returncode != 0:
            break
    whole = in_sequence([("", m) for m in runs])
    (work / "docker.log").write_text(whole.stderr)
    return Outcome(dataclasses.replace(whole, phases=tuple(p for m in runs for p in m.phases)))


_LAMINA = {"once": _lamina_once, "cached": _lamina_cached, "platforms": _lamina_platforms}
_BUILDAH = {"once": _buildah_once, "cached": _buildah_cached, "platforms": _buildah_platforms}
_DOCKER = {"once": _docker_once, "cached": _docker_cached, "platforms": _docker_platforms}
