"""The shape of the code, checked from its syntax trees: imports run one way between rooms, no
module imports itself round a cycle, no import hides inside a function to dodge one, and modules
and functions stay small enough to read.

``python -m tests.test_layering`` prints the room graph (who imports whom)."""

from __future__ import annotations

import ast
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

TOP = Path(__file__).resolve().parent.parent
PACKAGES = ("executor", "snapshot")

# Highest first: a module may import its own room and the rooms after it, never one before it.
ROOMS = (
    "executor.__main__", "executor.warmer", "executor.cli", "executor.pid1",
    "executor.builder", "executor.outputs", "executor.commands", "executor.cache",
    "executor.registry", "executor.image", "executor.rootfs", "executor.sandbox",
    "executor.options", "executor.contexts", "executor.dockerfile", "executor.http",
    "executor.clock", "executor.atomic", "executor.events", "executor.errors", "executor", "snapshot",
)
# Start-up cost only: the CLI imports the build once the flags are valid.
LAZY_FIRST_PARTY = {"executor.cli.main"}
# Heavy third-party clients imported only by the context kinds or helpers that need them.
LAZY_THIRD_PARTY = {
    "executor.sandbox.launcher": "starts for every RUN: socket and fcntl only for a network namespace",
    "executor.contexts.gcs": "google-cloud-storage: only gs:// contexts pay for it",
    "executor.contexts.s3": "boto3: only s3:// contexts pay for it",
    "executor.contexts.azure": "azure-storage-blob: only Azure Blob Storage contexts pay for it",
    "executor.registry.keychains.google": "google-auth: only gcr.io / pkg.dev pushes pay for it",
    "executor.registry.keychains.ecr": "boto3: only ECR registries pay for it",
    "snapshot.compression": "zstandard: only zstd layers pay for it",
    "executor.sandbox.ssh_agent": "cryptography: only --ssh with key files pays for it",
    "executor.cli.tracing": "opentelemetry-sdk: only builds with OTEL_EXPORTER_OTLP_ENDPOINT pay for it",
}
MAX_MODULE_LINES = 400
MAX_FUNCTION_LINES = 60


@dataclass(frozen=True)
class Import:
    importer: str
    target: str
    line: int
    in_function: bool


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((TOP / package).rglob("*.py")):
            parts = path.relative_to(TOP).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


MODULES = _modules()


def _room(module: str) -> str:
    return max((room for room in ROOMS if module == room or module.startswith(room + ".")), key=len)


def _targets(module: str, node: ast.Import | ast.ImportFrom) -> list[str]:
    """First-party modules an import statement loads (``from pkg import submodule`` counts as
    the submodule, ``from module import name`` as the module)."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names if alias.name.split(".")[0] in PACKAGES]
    base = node.module or ""
    if node.level:
        package = module if MODULES[module].name == "__init__.py" else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{base}" if base else package
    if base.split(".")[0] not in PACKAGES:
        return []
    submodules = [f"{base}.{alias.name}" for alias in node.names if f"{base}.{alias.name}" in MODULES]
    return submodules or [base]


def _imports() -> list[Import]:
    result = []
    for module, path in MODULES.items():
        tree = ast.parse(path.read_text(), str(path))
        inside = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                  for n in ast.walk(f) if isinstance(n, (ast.Import, ast.ImportFrom))}
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                for target in _targets(module, node):
                    result.append(Import(module, target, node.lineno, id(node) in inside))
    return result


IMPORTS = _imports()


def test_every_module_has_a_room() -> None:
    assert all(_room(module) for module in MODULES)


def test_imports_run_one_way() -> None:
    order = {room: rank for rank, room in enumerate(ROOMS)}
    upward = [f"{i.importer}:{i.line} imports {i.target} ({_room(i.target)} is above {_room(i.importer)})"
              for i in IMPORTS if order[_room(i.target)] < order[_room(i.importer)]]
    assert upward == []


def test_no_import_cycles() -> None:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in IMPORTS:
        if not i.in_function and i.target != i.importer:
            graph[i.importer].add(i.target)
    cycles, state = [], {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                cycles.append(" -> ".join([*path[path.index(target):], target]))
            elif target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(MODULES):
        if module not in state:
            visit(module, [module])
    assert cycles == []


def test_no_late_first_party_imports() -> None:
    late = [f"{i.importer}:{i.line} imports {i.target} inside a function" for i in IMPORTS
            if i.in_function and i.importer not in LAZY_FIRST_PARTY]
    assert late == []


def test_late_third_party_imports_only_where_start_up_needs_them() -> None:
    late = []
    for module, path in MODULES.items():
        for function in ast.walk(ast.parse(path.read_text())):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and not _targets(module, node) \
                        and module not in LAZY_THIRD_PARTY:
                    late.append(f"{module}:{node.lineno} {ast.unparse(node)}")
    assert late == []


@pytest.mark.parametrize("module", sorted(MODULES))
def test_modules_and_functions_are_small(module: str) -> None:
    text = MODULES[module].read_text()
    assert len(text.splitlines()) <= MAX_MODULE_LINES
    long = [f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
            for node in ast.walk(ast.parse(text))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno is not None and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert long == []


def room_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for i in IMPORTS:
        if _room(i.target) != _room(i.importer):
            graph[_room(i.importer)].add(_room(i.target))
    return graph


if __name__ == "__main__":
    graph = room_graph()
    for room in ROOMS:
        print(f"{room:22} -> {', '.join(sorted(graph.get(room, ()), key=ROOMS.index)) or '(nothing)'}")
    sys.exit(0)
