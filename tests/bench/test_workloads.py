"""The bench's workload definitions and the report's sections for them, without a bench run."""

from __future__ import annotations

import datetime
import string
from pathlib import Path

import pytest

from bench.builders import proxy_build_args
from bench.measure import Measurement
from bench.plans import _BUILDAH, _DOCKER, _LAMINA
from bench.report import Outcome, Result, render
from bench.workloads import DEFAULT_WORKLOADS, HOST_CA_BUNDLE, WORKLOADS, BaseImages

BASES = BaseImages(busybox="r/busybox", debian="r/debian", bigbase="r/bigbase", hugebase="r/huge",
                   busybox_multi="r/busybox-multi")


def test_every_workload_names_only_bases_it_needs_and_a_plan_every_builder_has() -> None:
    fields = set(BaseImages.__dataclass_fields__)
    for workload in WORKLOADS.values():
        named = {name for _, name, _, _ in string.Formatter().parse(workload.dockerfile) if name}
        assert named == set(workload.needs) and named <= fields, workload.name
        assert workload.plan in _LAMINA and workload.plan in _BUILDAH and workload.plan in _DOCKER


def test_the_default_workloads_leave_out_hugebase_only() -> None:
    assert set(WORKLOADS) - set(DEFAULT_WORKLOADS) == {"hugebase"}
    assert {"cached", "unused-stage", "app", "multiplatform"} <= set(DEFAULT_WORKLOADS)


def test_cached_rebuilds_the_bigbase_dockerfile() -> None:
    assert WORKLOADS["cached"].dockerfile == WORKLOADS["bigbase"].dockerfile
    assert WORKLOADS["cached"].plan == "cached"


def test_the_app_context_holds_the_host_ca_and_a_source_tree(tmp_path: Path) -> None:
    context = WORKLOADS["app"].write_context(tmp_path / "app", BASES)
    dockerfile = (context / "Dockerfile").read_text()
    assert dockerfile.startswith("FROM r/debian\n")
    assert (context / "host-ca.crt").read_bytes() == HOST_CA_BUNDLE.read_bytes()
    assert "PIP_CERT=/usr/local/share/bench/host-ca.crt" in dockerfile
    sources = [p for p in (context / "src").rglob("*") if p.is_file()]
    assert 1900 <= len(sources) <= 2100
    assert {p.suffix for p in sources} == {".py", ".c"} and (context / "src/c/main.c").is_file()
    again = WORKLOADS["app"].write_context(tmp_path / "again", BASES)
    assert (again / "src/pkg07/mod042.py").read_text() == (context / "src/pkg07/mod042.py").read_text()


def test_a_network_workload_passes_the_machine_proxy_on(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    assert proxy_build_args() == []
    monkeypatch.setenv("https_proxy", "http://proxy.example:3128")
    assert proxy_build_args() == ["--build-arg", "https_proxy=http://proxy.example:3128"]


def _ok(seconds: float, *phases: tuple[str, float]) -> Measurement:
    return Measurement(seconds=seconds, peak_rss=50 << 20, returncode=0, stderr="", phases=phases)


def test_the_report_shows_the_cached_blob_gets_and_both_platform_figures() -> None:
    cached, platforms = Result(WORKLOADS["cached"]), Result(WORKLOADS["multiplatform"])
    for number in range(3):
        cached.add("lamina", Outcome(_ok(0.8 + number / 100), first=_ok(15.0), base_blob_gets=0))
        cached.add("docker", Outcome(_ok(1.5, ("build", 1.4), ("push", 0.1)), first=_ok(30.0),
                                     idle_rss=100 << 20, storage_driver="overlay2"))
        platforms.add("lamina", Outcome(_ok(2.5), split=_ok(3.0, ("linux/amd64", 1.4),
                                                               ("linux/arm64", 1.6))))
        platforms.add("docker", Outcome(_ok(2.2, ("build", 1.0), ("push", 0.2), ("build", 0.8),
                                              ("push", 0.2)), idle_rss=100 << 20,
                                        storage_driver="overlay2"))
    text = render([cached, platforms], runs=3, started=datetime.datetime.now(datetime.UTC),
                  lamina_args=[], buildah_skipped=True)
    assert "| cached | 0.81 s ✓ | 1.0 s |" in text
    assert "| lamina | 15.00 s | 0.81 s | 0, 0, 0 ✓ |" in text
    assert "| docker | 30.00 s | 1.50 s | — |" in text
    assert "| lamina | 2.50 s | 3.00 s (1.40 + 1.60) | 0.83 |" in text
    assert "| docker | cannot (dockerd 20.10, no buildx) | 2.20 s | — |" in text
    assert "| multiplatform | 2.50 s | — | skipped | 2.20 s (1.80 + 0.40) |" in text
