"""--sbom: an SPDX 2.3 document of the final root's packages, checked with spdx-tools' own
parser and validator."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote

import pytest

from executor.image.sbom import Package, find_packages
from snapshot.ignore import IgnoreList
from tests.support.executor import run_executor, write_context
from tests.support.registry import RunningRegistry

spdx_parser = pytest.importorskip("spdx_tools.spdx.parser.parse_anything")
spdx_validator = pytest.importorskip("spdx_tools.spdx.validation.document_validator")

DPKG_STATUS = """Package: fakepkg
Status: install ok installed
Architecture: amd64
Version: 1.2-3
Description: a fake package
 with a continuation line

Package: removed
Status: deinstall ok config-files
Architecture: amd64
Version: 9

Package: tzdata
Status: install ok installed
Architecture: all
Version: 2024a-0+deb12u1
"""
METADATA = "Metadata-Version: 2.1\nName: Fake_Lib\nVersion: 0.4.1\nSummary: fake\n\nbody\n"
PACKAGE_JSON = json.dumps({"name": "@scope/leftpad", "version": "1.0.0"})


def _validated(path: Path) -> dict[str, object]:
    """The document as JSON, after spdx-tools parsed it and found nothing wrong."""
    document = spdx_parser.parse_file(str(path))
    messages = spdx_validator.validate_full_spdx_document(document)
    assert messages == [], [m.validation_message for m in messages]
    loaded: dict[str, object] = json.loads(path.read_text())
    return loaded


def _purls(document: dict[str, object]) -> dict[str, tuple[str, str]]:
    found = {}
    for package in document["packages"]:  # type: ignore[attr-defined]
        for ref in package.get("externalRefs", []):
            found[package["name"]] = (package["versionInfo"], ref["referenceLocator"])
    return found


def test_sbom_of_busybox_with_fake_packages(tmp_path: Path, registry: RunningRegistry,
                                            busybox_image: str) -> None:
    context = write_context(tmp_path / "context", f"""FROM {busybox_image}
COPY status /var/lib/dpkg/status
COPY METADATA /usr/lib/python3/dist-packages/Fake_Lib-0.4.1.dist-info/METADATA
COPY package.json /app/node_modules/@scope/leftpad/package.json
""", {"status": DPKG_STATUS, "METADATA": METADATA, "package.json": PACKAGE_JSON})
    tarball = tmp_path / "image.tar"
    run = run_executor(tmp_path, context, "--no-push", "--destination", registry.ref("sbom/busybox"),
                       "--tar-path", str(tarball), "--sbom")
    assert run.returncode == 0, run.stderr
    document = _validated(tmp_path / "image.tar.spdx.json")
    assert document["spdxVersion"] == "SPDX-2.3"
    purls = _purls(document)
    assert purls["fakepkg"] == ("1.2-3", "pkg:deb/debian/fakepkg@1.2-3?arch=amd64")
    assert purls["tzdata"] == ("2024a-0+deb12u1", "pkg:deb/debian/tzdata@2024a-0%2Bdeb12u1?arch=all")
    assert purls["Fake_Lib"] == ("0.4.1", "pkg:pypi/fake-lib@0.4.1")
    assert purls["@scope/leftpad"] == ("1.0.0", "pkg:npm/%40scope/leftpad@1.0.0")
    assert "removed" not in purls
    assert not (tmp_path / "image.tar.provenance.json").exists()


@pytest.mark.slow
def test_sbom_of_debian_lists_dpkg_packages(tmp_path: Path, registry: RunningRegistry,
                                            debian_image: str) -> None:
    context = write_context(tmp_path / "context", f"FROM {debian_image}\nRUN true\n")
    digest_file = tmp_path / "digest"
    run = run_executor(tmp_path, context, "--no-push", "--digest-file", str(digest_file), "--sbom")
    assert run.returncode == 0, run.stderr
    purls = _purls(_validated(tmp_path / "digest.spdx.json"))
    version, purl = purls["base-files"]
    assert version.startswith("12")
    assert purl.startswith(f"pkg:deb/debian/base-files@{quote(version)}?arch=")
    assert "dpkg" in purls and "apt" in purls


def test_apk_and_egg_info_are_read(tmp_path: Path) -> None:
    (tmp_path / "lib/apk/db").mkdir(parents=True)
    (tmp_path / "lib/apk/db/installed").write_text(
        "C:Q1abc=\nP:musl\nV:1.2.4-r2\nA:x86_64\n\nP:busybox\nV:1.36.1-r15\nA:x86_64\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('NAME="Alpine Linux"\nID=alpine\n')
    egg = tmp_path / "usr/local/lib/python3.12/site-packages/old.egg-info"
    egg.mkdir(parents=True)
    (egg / "PKG-INFO").write_text("Metadata-Version: 1.0\nName: old\nVersion: 2.0\n")
    found = find_packages(tmp_path)
    assert Package("apk", "musl", "1.2.4-r2", "lib/apk/db/installed", "x86_64", "alpine") in found
    assert [p.purl for p in found if p.name == "busybox"] == ["pkg:apk/alpine/busybox@1.36.1-r15?arch=x86_64"]
    assert [p.purl for p in found if p.ecosystem == "pypi"] == ["pkg:pypi/old@2.0"]


def test_ignored_paths_are_not_walked(tmp_path: Path) -> None:
    for top in ("kaniko", "app"):
        package = tmp_path / top / "node_modules" / "left-pad"
        package.mkdir(parents=True)
        (package / "package.json").write_text(json.dumps({"name": "left-pad", "version": top}))
    found = find_packages(tmp_path, IgnoreList.of("/kaniko"))
    assert [(p.name, p.version, p.source) for p in found] == [
        ("left-pad", "app", "app/node_modules/left-pad/package.json")]
