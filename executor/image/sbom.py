"""An SPDX 2.3 JSON document of the packages in an image's final root filesystem, read from the
package managers' own records: dpkg's status file, apk's installed database, Python's
``*.dist-info``/``*.egg-info`` metadata and npm's ``package.json`` under ``node_modules``.

The JSON is written here rather than through spdx-tools' model: spdx-tools pulls in rdflib and
beartype and costs a third of a second to import on every build; the tests validate what this
writes with spdx-tools' own validator instead."""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from urllib.parse import quote

from snapshot.ignore import IgnoreList

__all__ = ["SPDX_MEDIA_TYPE", "Package", "find_packages", "sbom_document"]

SPDX_MEDIA_TYPE = "application/spdx+json"
_PYTHON_DIRS = ("usr/lib", "usr/local/lib", "opt", "app", "root", "home", "srv")
_SKIP_WALK = {"proc", "sys", "dev", "tmp", "run"}


@dataclass(frozen=True, order=True)
class Package:
    """One installed package: its ecosystem (``deb``, ``apk``, ``pypi``, ``npm``), name, version,
    and where the record of it lives in the root (relative)."""

    ecosystem: str
    name: str
    version: str
    source: str
    arch: str = ""
    namespace: str = ""  # the purl namespace: the distribution (debian, ubuntu, alpine)

    @property
    def purl(self) -> str:
        name = self.name.lower().replace("_", "-") if self.ecosystem == "pypi" else self.name
        if self.ecosystem == "npm" and name.startswith("@"):
            scope, _, bare = name.partition("/")
            path = f"{quote(scope)}/{quote(bare)}"
        else:
            path = f"{self.namespace}/{quote(name)}" if self.namespace else quote(name)
        purl = f"pkg:{self.ecosystem}/{path}@{quote(self.version)}"
        return f"{purl}?arch={quote(self.arch)}" if self.arch else purl


def find_packages(root: Path, ignore: IgnoreList | None = None) -> list[Package]:
    """Every package the root's package managers recorded, sorted, each once; the walks for
    Python and npm metadata skip ``ignore`` (the executor's own files, in a root of ``/``)."""
    distro = _distro_id(root)
    skip = ignore or IgnoreList()
    found = {*_dpkg(root, distro), *_apk(root, distro), *_python(root, skip), *_npm(root, skip)}
    return sorted(found)


def _walk(root: Path, top: Path, ignore: IgnoreList) -> Iterator[tuple[Path, list[str]]]:
    """``os.walk`` below ``top`` (symlinks not followed), ignored directories pruned; the
    caller may prune the names it is given further."""
    for directory, names, _files in os.walk(top):
        here = Path(directory)
        rel = here.relative_to(root).as_posix()
        prefix = "" if rel == "." else rel + "/"
        names[:] = [n for n in names if not ignore.ignores(prefix + n)
                    and not (here == root and n in _SKIP_WALK)]
        yield here, names


def sbom_document(packages: list[Package], image_name: str, created: str,
                  tool: str) -> dict[str, object]:
    """The SPDX 2.3 document: the image as the described package, containing every package."""
    namespace_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{image_name}#{created}#{len(packages)}")
    image_id = "SPDXRef-Image"
    spdx_packages: list[dict[str, object]] = [{
        "SPDXID": image_id, "name": image_name, "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False, "primaryPackagePurpose": "CONTAINER",
    }]
    relationships = [{"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                      "relatedSpdxElement": image_id}]
    for number, package in enumerate(packages, 1):
        spdx_id = f"SPDXRef-Package-{package.ecosystem}-{number}"
        spdx_packages.append({
            "SPDXID": spdx_id, "name": package.name, "versionInfo": package.version,
            "downloadLocation": "NOASSERTION", "filesAnalyzed": False,
            "sourceInfo": f"read from /{package.source}",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": package.purl}],
        })
        relationships.append({"spdxElementId": image_id, "relationshipType": "CONTAINS",
                              "relatedSpdxElement": spdx_id})
    return {
        "spdxVersion": "SPDX-2.3", "dataLicense": "CC0-1.0", "SPDXID": "SPDXRef-DOCUMENT",
        "name": image_name,
        "documentNamespace": f"https://lamina.dev/spdx/{quote(image_name, safe='')}-{namespace_id}",
        # SPDX wants whole seconds: 2024-01-02T03:04:05Z
        "creationInfo": {"created": created[:19] + "Z", "creators": [f"Tool: {tool}"]},
        "packages": spdx_packages, "relationships": relationships,
    }


def _distro_id(root: Path) -> str:
    for name in ("etc/os-release", "usr/lib/os-release"):
        try:
            text = (root / name).read_text(errors="replace")
        except OSError:
            continue
        match = re.search(r'^ID="?([^"\n]*)"?', text, re.MULTILINE)
        if match:
            return match.group(1)
    return ""


def _stanzas(text: str) -> Iterator[dict[str, str]]:
    """RFC 822-style paragraphs (dpkg status); continuation lines are dropped."""
    for paragraph in text.split("\n\n"):
        fields = {}
        for line in paragraph.splitlines():
            if line and not line[0].isspace() and ":" in line:
                key, _, value = line.partition(":")
                fields[key] = value.strip()
        if fields:
            yield fields


def _dpkg(root: Path, distro: str) -> Iterator[Package]:
    source = "var/lib/dpkg/status"
    try:
        text = (root / source).read_text(errors="replace")
    except OSError:
        return
    for fields in _stanzas(text):
        installed = fields.get("Status", "install ok installed").endswith(" installed")
        if installed and fields.get("Package") and fields.get("Version"):
            yield Package("deb", fields["Package"], fields["Version"], source,
                          fields.get("Architecture", ""), distro or "debian")


def _apk(root: Path, distro: str) -> Iterator[Package]:
    source = "lib/apk/db/installed"
    try:
        text = (root / source).read_text(errors="replace")
    except OSError:
        return
    for paragraph in text.split("\n\n"):
        fields = dict(line.split(":", 1) for line in paragraph.splitlines() if line[1:2] == ":")
        if fields.get("P") and fields.get("V"):
            yield Package("apk", fields["P"], fields["V"], source, fields.get("A", ""),
                          distro or "alpine")


def _python(root: Path, ignore: IgnoreList) -> Iterator[Package]:
    for top in _PYTHON_DIRS:
        for here, names in _walk(root, root / top, ignore):
            for name in names:
                if name.endswith((".dist-info", ".egg-info")):
                    package = _python_metadata(root, here / name)
                    if package:
                        yield package
            names[:] = [n for n in names if not n.endswith((".dist-info", ".egg-info"))]


def _python_metadata(root: Path, directory: Path) -> Package | None:
    for file_name in ("METADATA", "PKG-INFO"):
        try:
            text = (directory / file_name).read_text(errors="replace")
        except OSError:
            continue
        headers = HeaderParser().parsestr(text, headersonly=True)
        if headers.get("Name") and headers.get("Version"):
            return Package("pypi", str(headers["Name"]), str(headers["Version"]),
                           str((directory / file_name).relative_to(root)))
    return None


def _npm(root: Path, ignore: IgnoreList) -> Iterator[Package]:
    for here, names in _walk(root, root, ignore):
        if here.name != "node_modules":
            continue
        for name in names:
            for candidate in _npm_candidates(here / name):
                package = _npm_package(root, candidate / "package.json")
                if package:
                    yield package


def _npm_candidates(directory: Path) -> list[Path]:
    """A package directory, or each package in an ``@scope`` one."""
    if not directory.name.startswith("@"):
        return [directory]
    try:
        return [directory / name for name in sorted(os.listdir(directory))]
    except OSError:
        return []


def _npm_package(root: Path, path: Path) -> Package | None:
    try:
        data = json.loads(path.read_text(errors="replace"))
    except (OSError, ValueError):
        return None
    if isinstance(data, dict) and isinstance(data.get("name"), str) \
            and isinstance(data.get("version"), str):
        return Package("npm", data["name"], data["version"], str(path.relative_to(root)))
    return None
