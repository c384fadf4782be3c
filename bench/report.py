"""docs/BENCHMARKS.md from the measurements: medians, ratios, peak memory, machine facts."""

from __future__ import annotations

import datetime
import os
import platform
import re
import statistics
import subprocess
from dataclasses import dataclass, field

from bench.measure import Measurement
from bench.workloads import PLATFORMS, Workload
from tests.support.docker import DOCKERD

__all__ = ["DockerRun", "Outcome", "Result", "render", "TARGETS"]

# The targets for lamina's median, in seconds; memory target for every workload.
TARGETS = {"small": 0.5, "manyfiles": 9.0, "bigcopy": 12.0, "multistage": 6.0, "bigbase": 25.0,
           "cached": 1.0}
SNAPSHOT_LINE = re.compile(r"snapshot after line (\d+) in ([0-9.]+)\s*s")
RSS_TARGET = 150 * 2**20
# Per incremental snapshot (one file changed), by workload: the root's size in words and the target.
SNAPSHOT_TARGETS = {"bigbase": ("about 260,000", 1.5), "hugebase": ("about 1,000,000", 3.0)}


@dataclass(frozen=True)
class DockerRun:
    measurement: Measurement  # docker build then docker push; phases "build" and "push"
    idle_rss: int  # bytes: the daemon's process tree, warmed up, just before the build
    storage_driver: str


@dataclass(frozen=True)
class Outcome:
    """What one builder's run of a workload gave (bench/plans.py)."""

    measurement: Measurement  # the timed build and push
    first: Measurement | None = None  # plan "cached": the first, untimed build
    split: Measurement | None = None  # plan "platforms", lamina: one build a platform, in turn
    base_blob_gets: int | None = None  # plan "cached", lamina: the second build's GETs of base layers
    idle_rss: int | None = None  # docker: the daemon at rest
    storage_driver: str | None = None  # docker


@dataclass
class Result:
    workload: Workload
    lamina: list[Measurement] = field(default_factory=list)
    buildah: list[Measurement] = field(default_factory=list)
    docker: list[DockerRun] = field(default_factory=list)
    snapshots: list[list[float]] = field(default_factory=list)  # per lamina run, log order
    first: dict[str, list[Measurement]] = field(default_factory=dict)  # by builder
    split: list[Measurement] = field(default_factory=list)  # lamina's, phases by platform
    base_blob_gets: list[int] = field(default_factory=list)  # lamina's, per run

    def add(self, builder: str, outcome: Outcome) -> None:
        m = outcome.measurement
        if builder == "lamina":
            self.lamina.append(m)
            if m.returncode == 0:
                self.snapshots.append([float(s) for _, s in SNAPSHOT_LINE.findall(m.stderr)])
            if outcome.split is not None:
                self.split.append(outcome.split)
            if outcome.base_blob_gets is not None:
                self.base_blob_gets.append(outcome.base_blob_gets)
        elif builder == "buildah":
            self.buildah.append(m)
        else:
            self.docker.append(DockerRun(measurement=m, idle_rss=outcome.idle_rss or 0,
                                         storage_driver=outcome.storage_driver or "none"))
        if outcome.first is not None:
            self.first.setdefault(builder, []).append(outcome.first)

    def measurements(self, builder: str) -> list[Measurement]:
        return {"lamina": self.lamina, "buildah": self.buildah, "docker": self.docker_measurements}[builder]

    @property
    def docker_measurements(self) -> list[Measurement]:
        return [run.measurement for run in self.docker]

    @property
    def lamina_ok(self) -> bool:
        return bool(self.lamina) and all(m.returncode == 0 for m in self.lamina)


def _median(ms: list[Measurement]) -> float | None:
    ok = [m.seconds for m in ms if m.returncode == 0]
    return statistics.median(ok) if ok and len(ok) == len(ms) else None


def _peak(ms: list[Measurement]) -> int | None:
    return max((m.peak_rss for m in ms), default=None)


def _phase_median(ms: list[Measurement], phase: str) -> float | None:
    """The median of a phase's time; a phase that ran several times (one a platform) adds up."""
    if _median(ms) is None:
        return None
    return statistics.median(sum(seconds for name, seconds in m.phases if name == phase) for m in ms)


def _ratio(numerator: float | None, denominator: float | None) -> str:
    return f"{numerator / denominator:.2f}" if numerator is not None and denominator else "—"


def _seconds(value: float | None) -> str:
    return "failed" if value is None else f"{value:.2f} s"


def _mib(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**20:.0f} MiB"


def _tool_version(*args: str) -> str:
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=20).stdout.strip().splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def machine_facts() -> list[str]:
    cpu = "unknown"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return [f"CPU: {cpu}, {os.cpu_count()} cores", f"memory: {mem / 2**30:.1f} GiB",
            f"kernel: {platform.release()}", f"Python: {platform.python_version()}",
            f"buildah: {_tool_version('buildah', '--version')}",
            f"docker: {_tool_version(str(DOCKERD), '--version')}, {_tool_version('containerd', '--version')}, "
            f"{_tool_version('runc', '--version')}"]


def _with_phases(m: Measurement) -> str:
    if not m.phases or m.returncode != 0:
        return f"{m.seconds:.2f}"
    return f"{m.seconds:.2f} ({' + '.join(f'{seconds:.2f}' for _, seconds in m.phases)})"


def _errors(ms: list[Measurement]) -> list[str]:
    out = []
    for m in ms:
        if m.returncode != 0:
            lines = [x for x in m.stderr.strip().splitlines() if x.strip()]
            errs = [x for x in lines if x.startswith("error")]
            out.append((errs or lines or ["no output"])[-1][:300])
    return sorted(set(out))


def _docker_drivers(results: list[Result]) -> str:
    drivers = sorted({run.storage_driver for r in results for run in r.docker if run.measurement.returncode == 0})
    return ", ".join(drivers) or "none"


def _skipped(builder: str, flag: str) -> list[str]:
    return [f"**{builder} was skipped in this run (`{flag}`): not a committed report.**", ""]


def render(results: list[Result], *, runs: int, started: datetime.datetime, lamina_args: list[str],
           buildah_skipped: bool, docker_skipped: bool = False) -> str:
    lines = [
        "# Benchmarks: lamina against buildah and docker build",
        "",
        "Generated by `python3 bench/run.py` (see `bench/`); do not edit by hand.",
        "",
        f"Run on {started.strftime('%Y-%m-%d %H:%M UTC')}, {runs} run(s) per builder and workload, the "
        "builders taking turns (each round starts with the next builder). Every build starts from "
        "nothing (fresh `--root` and kaniko dir for lamina; fresh vfs storage, `--isolation chroot` "
        "for buildah; for docker, a dockerd of the bench's own with a fresh data root, see below), "
        "pulls its base from and pushes its image to the same loopback registry. Times are "
        "wall-clock medians of the whole command (process start, pull, build, push). Peak memory is "
        "the largest sum of RSS over the whole process tree, sampled from /proc every 10 ms (at least "
        "the kernel's per-process maximum), the largest over the runs. Each build runs on a fresh "
        "ext4 filesystem of its own (no journal, as this machine's root; a sparse file on the same "
        "disk, loop-mounted; see `bench/filesystem.py`): on the shared disk, ext4 without a journal "
        "passes over every inode freed in the last 60 to 300 s on each file creation, so a build "
        "started after another run's files were removed created files several times slower.",
        "",
        "docker: Debian's docker.io (dockerd 20.10 with BuildKit built in), started by the bench for "
        "each run with its data root on that run's fresh filesystem (storage driver: "
        f"{_docker_drivers(results)}) and the loopback registry as an insecure registry, so it holds "
        "no build cache and no image and pulls the base as the others do. Before the timed build it "
        "builds a `FROM scratch` image, removes it and runs `docker builder prune -af`, so BuildKit "
        "is warm as on a daemon already running; the daemon's start is not timed. The time is "
        "`DOCKER_BUILDKIT=1 docker build --network host` followed by `docker push` (dockerd 20.10 "
        "cannot push from the build), shown as the median of the sum and, in brackets, the medians "
        "of build and push (which need not add up to it). The build's work happens in the daemon, "
        "not in the CLI, so docker's peak memory is the sum of RSS over the CLI's process tree and "
        "the daemon's (tini, dockerd, containerd, runc and the RUN steps' processes), sampled "
        "together as above; it includes the daemon's resident memory at rest, shown in brackets "
        "(the median, measured after the warm-up, just before the build). Like the others', it "
        "leaves out the page cache (which cgroup memory figures count).",
        "",
    ]
    if lamina_args:
        lines += [f"lamina flags: `{' '.join(lamina_args)}`", ""]
    if buildah_skipped:
        lines += _skipped("buildah", "--skip-buildah")
    if docker_skipped:
        lines += _skipped("docker", "--skip-docker")
    lines += [
        "| workload | lamina median | target | buildah median | docker median (build + push) "
        "| lamina/buildah | lamina/docker | lamina peak RSS | buildah peak RSS "
        "| docker peak RSS (daemon at rest) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        name = r.workload.name
        dms = r.docker_measurements
        lam, bud, doc = _median(r.lamina), _median(r.buildah), _median(dms)
        target = TARGETS.get(name)
        verdict = ""
        if lam is not None and target is not None:
            verdict = " ✓" if lam <= target else " ✗"
        target_text = "—" if target is None else f"{target:.1f} s"
        if docker_skipped:
            docker_time = docker_peak = "skipped"
        else:
            docker_time = _seconds(doc)
            if doc is not None:
                docker_time += (f" ({_phase_median(dms, 'build'):.2f} + "
                                f"{_phase_median(dms, 'push'):.2f})")
            docker_peak = _mib(_peak(dms))
            idle = [run.idle_rss for run in r.docker if run.measurement.returncode == 0]
            if idle:
                docker_peak += f" ({_mib(int(statistics.median(idle)))})"
        buildah_time = buildah_peak = "skipped" if buildah_skipped else "left out"
        if not buildah_skipped and not r.workload.buildah_left_out:
            buildah_time, buildah_peak = _seconds(bud), _mib(_peak(r.buildah))
        lines.append(
            f"| {name} | {_seconds(lam)}{verdict} | {target_text} | "
            f"{buildah_time} | {docker_time} | {_ratio(lam, bud)} | "
            f"{_ratio(lam, doc)} | {_mib(_peak(r.lamina))} | "
            f"{buildah_peak} | {docker_peak} |")
    lines += ["", f"Memory target for lamina: {RSS_TARGET // 2**20} MiB on every workload.", ""]
    lines += ["## Runs", ""]
    for r in results:
        times = {"lamina": ", ".join(f"{m.seconds:.2f}" for m in r.lamina),
                 "buildah": ", ".join(f"{m.seconds:.2f}" for m in r.buildah),
                 "docker": ", ".join(_with_phases(m) for m in r.docker_measurements)}
        lines.append(f"- `{r.workload.name}` ({r.workload.description}): "
                     + "; ".join(f"{builder} {seconds} s" for builder, seconds in times.items() if seconds))
        if r.workload.runs is not None:
            lines.append(f"  - {r.workload.runs} run{'s' if r.workload.runs > 1 else ''} only, for time")
        if r.workload.buildah_left_out and not buildah_skipped:
            lines.append(f"  - buildah left out: {r.workload.buildah_left_out}")
        for builder, ms in (("lamina", r.lamina), ("buildah", r.buildah), ("docker", r.docker_measurements)):
            for err in _errors(ms):
                lines.append(f"  - {builder} failed: `{err}`")
    for r in results:
        if r.workload.name not in SNAPSHOT_TARGETS or not r.snapshots:
            continue
        files, target = SNAPSHOT_TARGETS[r.workload.name]
        lines += ["", f"## Incremental snapshots in `{r.workload.name}`", "",
                  f"Each RUN changes one file on a root of {files} files; target {target} s per "
                  "snapshot in the default (`full`) mode. From lamina's log (`snapshot after line N "
                  "in X s`), per run:", ""]
        for number, seconds in enumerate(r.snapshots, 1):
            lines.append(f"- run {number}: " + ", ".join(f"{s:.2f} s" for s in seconds))
    for r in results:
        lines += _SECTIONS.get(r.workload.plan, _no_section)(r)
    lines += ["", "## Machine", ""] + [f"- {fact}" for fact in machine_facts()] + [""]
    return "\n".join(lines)


def _no_section(r: Result) -> list[str]:
    return []


def _builders(r: Result) -> list[tuple[str, list[Measurement]]]:
    return [(b, r.measurements(b)) for b in ("lamina", "buildah", "docker") if r.measurements(b)]


def _cached_section(r: Result) -> list[str]:
    """The rebuild's figures: both builds' medians, and the base-layer blobs lamina's second
    build fetched (counted by a proxy between lamina and the registry; the issue asks for none)."""
    gets = r.base_blob_gets
    verdict = "" if not gets else (" ✓" if not any(gets) else " ✗")
    lines = ["", f"## A rebuild from the cache: `{r.workload.name}`", "",
             "Each run builds the Dockerfile twice; only the second build (and push) is timed. "
             "lamina: two executor runs, each with a fresh `--root` and kaniko dir as two CI jobs, "
             "sharing only the registry (`--cache --cache-repo`, a repository a run); its requests "
             "pass through a recording proxy (tests/registry/servers.py `FlakyProxy`, as "
             "tests/cache/test_lookahead.py counts them), and the blob GETs of the second build "
             "for the base's layers are counted: the target is none, and a second build under "
             f"{TARGETS.get(r.workload.name, 1.0):.0f} s. docker: the second build on the same "
             "daemon (BuildKit's own cache). buildah: `bud --layers` twice on the same storage.", "",
             "| builder | first build median | second build median | base-layer blob GETs of the "
             "second build, per run |", "|---|---|---|---|"]
    for builder, ms in _builders(r):
        counted = (", ".join(str(n) for n in gets) or "—") + verdict if builder == "lamina" else "—"
        lines.append(f"| {builder} | {_seconds(_median(r.first.get(builder, [])))} | "
                     f"{_seconds(_median(ms))} | {counted} |")
    return lines


def _platforms_section(r: Result) -> list[str]:
    """One build for both platforms against one build a platform, run one after the other."""
    both, each = " and ".join(PLATFORMS), " + ".join(p.rsplit("/", 1)[1] for p in PLATFORMS)
    lines = ["", f"## Two platforms in one build: `{r.workload.name}`", "",
             f"One build making the image index of {both} (lamina `--custom-platform "
             f"{','.join(PLATFORMS)}`; buildah `--platform {','.join(PLATFORMS)} --manifest`, then "
             "`manifest push --all`) against one build a platform, one after the other (lamina: "
             "two executor runs, each pushing its own image, no index; docker: dockerd 20.10 "
             "without buildx builds one platform a build and cannot push an index, so it does "
             "two builds and two pushes on the same daemon, its second build reusing the native "
             "stage from the first's cache). Medians; in brackets, the medians of each platform's "
             "build.", "",
             f"| builder | one build for both | one build a platform ({each}) | one/two |",
             "|---|---|---|---|"]
    for builder, ms in _builders(r):
        one = _median(ms)
        if builder == "lamina":
            two = _median(r.split)
            parts = " + ".join(f"{_phase_median(r.split, p) or 0:.2f}" for p in PLATFORMS)
            lines.append(f"| lamina | {_seconds(one)} | {_seconds(two)}"
                         f"{f' ({parts})' if two is not None else ''} | {_ratio(one, two)} |")
        elif builder == "buildah":
            lines.append(f"| buildah | {_seconds(one)} | not run | — |")
        else:
            lines.append(f"| docker | cannot (dockerd 20.10, no buildx) | {_seconds(one)} | — |")
    return lines


_SECTIONS = {"cached": _cached_section, "platforms": _platforms_section}
