"""Build each workload with lamina, buildah and docker build, in turn, and write docs/BENCHMARKS.md.

    python3 bench/run.py [--runs N] [--workloads small,bigcopy] [--skip-buildah] [--skip-docker]
                         [--report PATH]

Starts its own registry on loopback and pushes its own base images (busybox, Debian minbase from the
debootstrap cache, bigbase: Debian plus 250,000 small files, and hugebase: busybox plus 1,000,000
small files in four layers, made once per machine in the cache dir, and an index of busybox for
linux/amd64 and linux/arm64) with skopeo. What each builder does in a run depends on the workload's
plan (bench/plans.py): one build; a first build and a timed second one from the builder's cache;
one build for two platforms against one a platform. Every build but a cached second one starts
from nothing: a fresh --root and kaniko dir for lamina, fresh vfs storage for buildah, and for docker a
dockerd of the bench's own (Debian's docker.io 20.10, overlay2, the loopback registry as its
insecure registry) with a fresh data root; each pulls its base from and pushes its result to the
same registry. Each run gets a fresh filesystem of its own (bench/filesystem.py), dockerd's data
root included. Needs root (the builders chroot; dockerd), and an interpreter with lamina's
dependencies (the repository's .venv): lamina runs as ``sys.executable -m executor``.
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import dataclasses
import datetime
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.filesystem import fresh_filesystem  # noqa: E402
from bench.plans import Setting, run_builder  # noqa: E402
from bench.report import Outcome, Result, render  # noqa: E402
from bench.workloads import DEFAULT_WORKLOADS, WORKLOADS, BaseImages, Workload, push_bases  # noqa: E402
from tests.cache.cache_builds import pushed_image  # noqa: E402
from tests.registry.servers import FlakyProxy, serve  # noqa: E402
from tests.support.docker import DOCKER, DOCKERD  # noqa: E402
from tests.support.registry import RunningRegistry, run_registry  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def _clean(path: Path) -> None:
    if path.exists():
        # buildah's vfs storage may hold read-only directories; a plain rmtree handles them as root.
        subprocess.run(["rm", "-rf", str(path)], check=False)


@contextlib.contextmanager
def _setting(workload: Workload, bases: BaseImages, registry: RunningRegistry, scratch: Path,
             lamina_flags: list[str]) -> Iterator[Setting]:
    """The workload's context; for the cached plan, lamina's own copy naming the registry through
    a proxy that records its requests (buildah and docker push through none: both stream
    uploads in chunks, which the proxy does not forward)."""
    context = workload.write_context(scratch / f"context-{workload.name}", bases)
    setting = Setting(workload=workload, context=context, host=registry.host, lamina_context=context,
                      lamina_host=registry.host, lamina_flags=tuple(lamina_flags))
    try:
        if workload.plan != "cached":
            yield setting
            return
        counter = FlakyProxy(registry.host)
        with serve(counter.handle) as host:
            renamed = BaseImages(**{key: ref.replace(registry.host, host)
                                    for key, ref in dataclasses.asdict(bases).items()})
            yield dataclasses.replace(
                setting, lamina_context=workload.write_context(
                    scratch / f"context-{workload.name}-lamina", renamed),
                lamina_host=host, counter=counter,
                base_layers=tuple(pushed_image(registry, getattr(bases, workload.needs[0])).layers))
    finally:
        _clean(scratch / f"context-{workload.name}")
        _clean(scratch / f"context-{workload.name}-lamina")


def run_workload(workload: Workload, bases: BaseImages, registry: RunningRegistry, scratch: Path,
                 runs: int, builders: list[str], extra: list[str], keep_logs: Path | None) -> Result:
    """``runs`` rounds of every builder; each round starts one builder later than the one before, so
    no builder always goes first (after the same other builder's run)."""
    result = Result(workload)
    if workload.buildah_left_out:
        builders = [b for b in builders if b != "buildah"]
    with _setting(workload, bases, registry, scratch, extra) as setting:
        runs = workload.runs or runs
        for number in range(runs):
            shift = number % len(builders)
            for builder in builders[shift:] + builders[:shift]:
                with fresh_filesystem(scratch / f"{workload.name}-{builder}-{number}") as work:
                    outcome = run_builder(builder, setting, work, number)
                    result.add(builder, outcome)
                    if keep_logs is not None:
                        _keep_logs(work, builder, keep_logs / f"{workload.name}-{builder}-{number}")
                print(f"{workload.name:10} {builder:7} run {number + 1}/{runs}: {_progress(outcome)}",
                      flush=True)
    return result


def _keep_logs(work: Path, builder: str, prefix: Path) -> None:
    prefix.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(work / f"{builder}.log", f"{prefix}.log")
    if builder == "docker" and (work / "docker" / "dockerd.log").exists():
        shutil.copy(work / "docker" / "dockerd.log", f"{prefix}.dockerd.log")


def _progress(outcome: Outcome) -> str:
    m = outcome.measurement
    phases = ", ".join(f"{name} {seconds:.2f}" for name, seconds in m.phases if name)
    line = f"{m.seconds:7.2f} s{f' ({phases})' if phases else ''}, peak {m.peak_rss / 2**20:6.0f} MiB"
    if outcome.idle_rss is not None:
        line += f" (daemon idle {outcome.idle_rss / 2**20:.0f} MiB)"
    if outcome.first is not None and outcome.first is not m:
        line += f", first build {outcome.first.seconds:.2f} s"
    if outcome.base_blob_gets is not None:
        line += f", base-layer blob GETs {outcome.base_blob_gets}"
    if outcome.split is not None:
        line += f", one build a platform {outcome.split.seconds:.2f} s"
    return line + (", ok" if m.returncode == 0 else f", FAILED ({_last_error(m.stderr)})")


def _last_error(stderr: str) -> str:
    lines = [line for line in stderr.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error")]
    return (errors or lines or ["no output"])[-1][:200]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="runs per builder and workload (default 3)")
    parser.add_argument("--workloads", default=",".join(DEFAULT_WORKLOADS),
                        help=f"comma-separated subset of {','.join(WORKLOADS)} (default: all but "
                        f"{','.join(sorted(set(WORKLOADS) - set(DEFAULT_WORKLOADS)))})")
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
    # An installed lamina (pip, the executor image) runs from bytecode; a checkout on a machine with
    # PYTHONDONTWRITEBYTECODE would compile every module on every build, a cost no user pays.
    for package in ("executor", "snapshot"):
        compileall.compile_dir(str(REPO / package), quiet=1)
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
