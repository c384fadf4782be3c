"""Build each workload with lamina and with buildah, alternating, and write docs/BENCHMARKS.md.

    python3 bench/run.py [--runs N] [--workloads small,bigcopy] [--skip-buildah] [--report PATH]

Starts its own registry on loopback and pushes its own base images (busybox, Debian minbase from the
debootstrap cache, and bigbase: Debian plus 250,000 small files) with skopeo. Every build starts from
nothing: a fresh --root and kaniko dir for lamina, fresh vfs storage for buildah, and each pulls its
base and pushes its result to the same registry. Needs root (both builders chroot).
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
from bench.measure import Measurement, measure  # noqa: E402
from bench.report import Result, render  # noqa: E402
from bench.workloads import WORKLOADS, BaseImages, Workload, push_bases  # noqa: E402
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


def _clean(path: Path) -> None:
    if path.exists():
        # buildah's vfs storage may hold read-only directories; a plain rmtree handles them as root.
        subprocess.run(["rm", "-rf", str(path)], check=False)


def _build(builder: str, workload: Workload, context: Path, work: Path, registry: RunningRegistry,
           extra: list[str]) -> Measurement:
    if builder == "lamina":
        return build_lamina(workload, context, work, registry, extra)
    return build_buildah(workload, context, work, registry)


def run_workload(workload: Workload, bases: BaseImages, registry: RunningRegistry, scratch: Path,
                 runs: int, skip_buildah: bool, extra: list[str], keep_logs: Path | None) -> Result:
    context = workload.write_context(scratch / f"context-{workload.name}", bases)
    result = Result(workload)
    for number in range(runs):
        builders = ["lamina"] if skip_buildah else (
            ["lamina", "buildah"] if number % 2 == 0 else ["buildah", "lamina"])
        for builder in builders:
            with fresh_filesystem(scratch / f"{workload.name}-{builder}-{number}") as work:
                m = _build(builder, workload, context, work, registry, extra)
                log = work / f"{builder}.log"
                if keep_logs is not None:
                    keep_logs.mkdir(parents=True, exist_ok=True)
                    shutil.copy(log, keep_logs / f"{workload.name}-{builder}-{number}.log")
            if builder == "lamina":
                result.lamina.append(m)
                if m.returncode == 0:
                    result.snapshots.append([float(s) for _, s in SNAPSHOT_LINE.findall(m.stderr)])
            else:
                result.buildah.append(m)
            status = "ok" if m.returncode == 0 else f"FAILED ({_last_error(m.stderr)})"
            print(f"{workload.name:10} {builder:7} run {number + 1}/{runs}: {m.seconds:7.2f} s, "
                  f"peak {m.peak_rss / 2**20:6.0f} MiB, {status}", flush=True)
    _clean(context)
    return result


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
                        help="lamina only, for quick local iteration (never for the committed report)")
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
        parser.error("the benchmark needs root (lamina's --root sandbox and buildah chroot)")
    scratch = Path(tempfile.mkdtemp(prefix="lamina-bench-", dir=args.workdir))
    started = datetime.datetime.now(datetime.UTC)
    try:
        with run_registry(scratch / "registry") as registry:
            needed = {base for n in names for base in WORKLOADS[n].needs}
            bases = push_bases(registry, scratch / "bases", needed)
            results = [run_workload(WORKLOADS[n], bases, registry, scratch, args.runs, args.skip_buildah,
                                    args.lamina_arg, args.keep_logs) for n in names]
    finally:
        _clean(scratch)
    report = render(results, runs=args.runs, started=started, lamina_args=args.lamina_arg,
                    buildah_skipped=args.skip_buildah)
    args.report.parent.mkdir(parents=True, exist_ok=True)
    args.report.write_text(report)
    print(f"report written to {args.report}")
    return 0 if all(r.lamina_ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
