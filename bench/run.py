"""Build each workload with lamina, buildah and docker build, in turn, and write docs/BENCHMARKS.md.

    python3 bench/run.py [--runs N] [--workloads small,bigcopy] [--skip-buildah] [--skip-docker]
                         [--report PATH]

Starts its own registry on loopback and pushes its own base images (busybox, Debian minbase from the
debootstrap cache, bigbase: Debian plus 250,000 small files, and hugebase: busybox plus 1,000,000
small files in four layers, made once per machine in the cache dir) with skopeo. Every build starts from
nothing: a fresh --root and kaniko dir for lamina, fresh vfs storage for buildah, and for docker a
dockerd of the bench's own (Debian's docker.io 20.10, overlay2, the loopback registry as its
insecure registry) with a fresh data root; each pulls its base from and pushes its result to the
same registry. Each run gets a fresh filesystem of its own (bench/filesystem.py), dockerd's data
root included. Needs root (the builders chroot; dockerd), and an interpreter with lamina's
dependencies (the repository's .venv): lamina runs as ``sys.executable -m executor``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.filesystem import fresh_filesystem  # noqa: E402
from bench.measure import Measurement, in_sequence, measure, tree_rss  # noqa: E402
from bench.report import DockerRun, Result, render  # noqa: E402
from bench.workloads import WORKLOADS, BaseImages, Workload, push_bases  # noqa: E402
from tests.support.docker import (  # noqa: E402
    BUILD_ENV,
    DOCKER,
    DOCKERD,
    DockerError,
    RunningDocker,
    build_args,
    docker_build,
    start_dockerd,
)
from tests.support.registry import RunningRegistry, run_registry  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
BUILDAH_ENV = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin"}
SNAPSHOT_LINE = re.compile(r"snapshot after line (\d+) in ([0-9.]+)\s*s")


def lamina_command(context: Path, work: Path, destination: str, extra: list[str]) -> list[str]:
    return [sys.executable, "-m", "executor", "--context", str(context), "--root", str(work / "root"),
            "--kaniko-dir", str(work / "kaniko"), "--destination", destination, *extra]


def build_lamina(workload: Workload, context: Path, work: Path, registry: RunningRegistry,
                 extra: list[str]) -> Measurement:
    env = {**os.environ, "DOCKER_CONFIG": str(work / "no-docker-config"),
           "PYTHONPATH": str(REPO)}
    return measure(lamina_command(context, work, registry.ref(f"bench-{workload.name}", "lamina"), extra),
                   env=env, cwd=REPO, log=work / "lamina.log")


def build_buildah(workload: Workload, context: Path, work: Path, registry: RunningRegistry) -> Measurement:
    """``buildah bud`` then ``buildah push`` as one shell command, so both are in one process tree."""
    storage = (f"--root {work}/storage --runroot {work}/run --storage-driver vfs")
    destination = registry.ref(f"bench-{workload.name}", "buildah")
    script = (f"buildah {storage} bud --isolation chroot --format docker --tls-verify=false --quiet "
              f"-f {context}/Dockerfile -t bench-{workload.name} {context} && "
              f"buildah {storage} push --tls-verify=false --quiet bench-{workload.name} "
              f"docker://{destination}")
    return measure(["sh", "-c", script], env={**BUILDAH_ENV, "HOME": str(work)}, log=work / "buildah.log")


def build_docker(workload: Workload, context: Path, work: Path, registry: RunningRegistry) -> DockerRun:
    """``docker build`` then ``docker push``, measured one after the other, against a dockerd started
    for this run alone with its data root on the run's fresh filesystem: no build cache and no image,
    so the base is pulled as lamina and buildah pull it. The daemon's start is not timed; a
    ``FROM scratch`` build, then removed and pruned, warms BuildKit up first, as on a daemon already
    running. Memory is the CLI's process tree plus the daemon's (tini, dockerd, containerd, runc and
    the RUN steps), sampled together. A daemon that fails to start or warm up is a failed run."""
    destination = registry.ref(f"bench-{workload.name}", "docker")
    try:
        with start_dockerd(work / "docker", insecure_registries=[registry.host]) as docker:
            _warm_up(docker, work / "warm-up")
            daemon = _parent(docker.pid)  # tini, the subreaper over dockerd and whatever it leaves
            idle = tree_rss(daemon)
            env = docker.env(**BUILD_ENV)
            build = measure([str(DOCKER), *build_args(context, destination)], env=env,
                            log=work / "docker-build.log", also=(daemon,))
            phases = [("build", build)]
            if build.returncode == 0:
                phases.append(("push", measure([str(DOCKER), "push", destination], env=env,
                                               log=work / "docker-push.log", also=(daemon,))))
            run = DockerRun(measurement=in_sequence(phases), idle_rss=idle, storage_driver=docker.storage_driver)
    except DockerError as exc:
        failed = Measurement(seconds=0.0, peak_rss=0, returncode=exc.returncode or 1,
                             stderr=f"{exc}\n{exc.output}\nerror: {str(exc).splitlines()[0]}\n")
        run = DockerRun(measurement=failed, idle_rss=0, storage_driver="none")
    (work / "docker.log").write_text(run.measurement.stderr)
    return run


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


def _clean(path: Path) -> None:
    if path.exists():
        # buildah's vfs storage may hold read-only directories; a plain rmtree handles them as root.
        subprocess.run(["rm", "-rf", str(path)], check=False)


def run_workload(workload: Workload, bases: BaseImages, registry: RunningRegistry, scratch: Path,
                 runs: int, builders: list[str], extra: list[str], keep_logs: Path | None) -> Result:
    """``runs`` rounds of every builder; each round starts one builder later than the one before, so
    no builder always goes first (after the same other builder's run)."""
    context = workload.write_context(scratch / f"context-{workload.name}", bases)
    result = Result(workload)
    for number in range(runs):
        shift = number % len(builders)
        for builder in builders[shift:] + builders[:shift]:
            with fresh_filesystem(scratch / f"{workload.name}-{builder}-{number}") as work:
                idle: int | None = None
                if builder == "lamina":
                    m = build_lamina(workload, context, work, registry, extra)
                    result.lamina.append(m)
                    if m.returncode == 0:
                        result.snapshots.append([float(s) for _, s in SNAPSHOT_LINE.findall(m.stderr)])
                elif builder == "buildah":
                    m = build_buildah(workload, context, work, registry)
                    result.buildah.append(m)
                else:
                    run = build_docker(workload, context, work, registry)
                    result.docker.append(run)
                    m, idle = run.measurement, run.idle_rss
                if keep_logs is not None:
                    _keep_logs(work, builder, keep_logs / f"{workload.name}-{builder}-{number}")
            print(f"{workload.name:10} {builder:7} run {number + 1}/{runs}: {_progress(m, idle)}",
                  flush=True)
    _clean(context)
    return result


def _keep_logs(work: Path, builder: str, prefix: Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / f"{builder}.log", f"{prefix}.log")
    if builder == "docker" and (work / "docker" / "dockerd.log").exists():
        shutil.copy(work / "docker" / "dockerd.log", f"{prefix}.dockerd.log")


def _progress(m: Measurement, idle_rss: int | None) -> str:
    phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in m.phases)
    line = f"{m.seconds:7.2f} s{f' ({phases})' if phases else ''}, peak {m.peak_rss / 2**20:6.0f} MiB"
    if idle_rss is not None:
        line += f" (daemon idle {idle_rss / 2**20:.0f} MiB)"
    return line + (", ok" if m.returncode == 0 else f", FAILED ({_last_error(m.stderr)})")


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error")]
    return (errors or lines or ["no output"])[-1][:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per builder and workload (default 3)")
    parser.add_argument("--workloads", default=",".join(WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)}")
    parser.add_argument("--skip-buildah", action="store_true",
                        help="no buildah, for quick local iteration (never for the committed report)")
    parser.add_argument("--skip-docker", action="store_true",
                        help="no docker build, for quick local iteration (never for the committed report)")
    parser.add_argument("--report", type=Path, default=REPO / "docs" / "BENCHMARKS.md",
                        help="where to write the report (default docs/BENCHMARKS.md)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="scratch directory (default: a new temp dir, removed afterwards)")
    parser.add_argument("--lamina-arg", action="append", default=[],
                        help="extra flag for lamina's executor, e.g. --lamina-arg=--compression=zstd")
    parser.add_argument("--keep-logs", type=Path, default=None,
                        help="copy each build's log into this directory")
    args = parser.parse_args(argv)
    names = [n.strip() for n in args.workloads.split(",") if n.strip()]
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"unknown workloads {unknown}; choose from {list(WORKLOADS)}")
    if os.geteuid() != 0:
        parser.error("the benchmark needs root (lamina's --root sandbox, buildah chroot, dockerd)")
    if not args.skip_docker and not (DOCKERD.is_file() and DOCKER.is_file()):
        parser.error(f"{DOCKERD} or {DOCKER} is missing: install Debian's docker.io or pass --skip-docker")
    builders = ["lamina"]
    if not args.skip_buildah:
        builders.append("buildah")
    if not args.skip_docker:
        builders.append("docker")
    scratch = Path(tempfile.mkdtemp(prefix="lamina-bench-", dir=args.workdir))
    started = datetime.datetime.now(datetime.UTC)
    try:
        with run_registry(scratch / "registry") as registry:
            needed = {base for n in names for base in WORKLOADS[n].needs}
            bases = push_bases(registry, scratch / "bases", needed)
            results = [run_workload(WORKLOADS[n], bases, registry, scratch, args.runs, builders,
                                    args.lamina_arg, args.keep_logs) for n in names]
    finally:
        _clean(scratch)
    report = render(results, runs=args.runs, started=started, lamina_args=args.lamina_arg,
                    buildah_skipped=args.skip_buildah, docker_skipped=args.skip_docker)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(f"report written to {args.report}")
    return 0 if all(r.lamina_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
