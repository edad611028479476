"""The layers of anpr_engine, read from its source with `ast` (every import: at module level, inside
functions, under `if TYPE_CHECKING`):

- only anpr_engine.io talks to Kafka (imports confluent_kafka);
- the numba kernels (anpr_engine.kernels.*, but for the numba-free `codes` and `jit`) are imported
  only by the WRAPPERS below, which check dtypes and shapes before a kernel runs;
- the kernels import nothing of anpr_engine outside kernels/;
- the stages import downwards only: codec, match, engine, files and federation never import io, console or cli;
  io never imports console or cli; console never imports cli;
- no import cycle between anpr_engine modules (module-level imports, those that run on import).

Each checker takes the package's root directory and returns its violations, one line each naming the
module, the line and the import; the last test runs every checker on a small package made in
tmp_path with one violation of each rule, so a checker that stopped seeing them fails there.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2] / "anpr_engine"

# The modules that wrap the numba kernels: each checks its inputs (dtypes, shapes, buffer sizes) and
# calls kernels. A new wrapper is added here on purpose, after review; everything else reaches the
# kernels through these modules (or takes constants from kernels.codes, flags from kernels.jit).
WRAPPERS = frozenset({
    "anpr_engine.codec.columns",
    "anpr_engine.codec.csv_lines",
    "anpr_engine.codec.json_parse",
    "anpr_engine.codec.json_write",
    "anpr_engine.match.chains",
    "anpr_engine.match.formats",
    "anpr_engine.match.key_map",
    "anpr_engine.match.normalize",
    "anpr_engine.match.plate_index",
})  # fmt: skip

# kernels/ modules anyone may import: numba-free constants and the decorators' flags
KERNELS_FOR_ALL = frozenset({"kernels", "kernels.codes", "kernels.jit"})

# stage -> the stages it must never import
FORBIDDEN = {
    "codec": ("io", "console", "cli"),
    "match": ("io", "console", "cli"),
    "engine": ("io", "console", "cli"),
    "files": ("io", "console", "cli"),
    "federation": ("io", "console", "cli"),
    "io": ("console", "cli"),
    "console": ("cli",),
}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, dotted
    path: str  # its file, relative to the package's parent
    line: int
    target: str  # the imported module, dotted and absolute
    runs_on_import: bool  # at module level, not inside a function nor under `if TYPE_CHECKING`

    def where(self) -> str:
        return f"{self.path}:{self.line}: {self.module} imports {self.target}"


def _module_name(root: Path, file: Path) -> str:
    parts = [root.name, *file.relative_to(root).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Every import of one module, with whether it runs when the module is imported."""

    def __init__(self, module: str, is_package: bool, modules: frozenset[str]) -> None:
        self.module, self.modules = module, modules
        self.package = module if is_package else module.rpartition(".")[0]
        self.found: list[tuple[int, str, bool]] = []
        self.depth = 0  # functions and TYPE_CHECKING blocks we are inside

    def _nested(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _nested

    def visit_If(self, node: ast.If) -> None:
        if not _is_type_checking(node.test):
            self.generic_visit(node)
            return
        self.depth += 1
        for child in node.body:
            self.visit(child)
        self.depth -= 1
        for child in node.orelse:
            self.visit(child)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.found.append((node.lineno, alias.name, self.depth == 0))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:  # relative: from the importing module's package, up level - 1
            anchor = self.package.split(".")
            anchor = anchor[: len(anchor) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        for alias in node.names:
            sub = f"{base}.{alias.name}"
            self.found.append((node.lineno, sub if sub in self.modules else base, self.depth == 0))


@cache
def scan(root: Path) -> tuple[frozenset[str], tuple[Import, ...]]:
    """The modules of the package at `root` and every import they make."""
    files = sorted(f for f in root.rglob("*.py") if "__pycache__" not in f.parts)
    modules = frozenset(_module_name(root, f) for f in files)
    imports: list[Import] = []
    for f in files:
        name = _module_name(root, f)
        visitor = _Imports(name, f.name == "__init__.py", modules)
        visitor.visit(ast.parse(f.read_text(encoding="utf-8"), str(f)))
        path = f.relative_to(root.parent).as_posix()
        imports += [Import(name, path, line, target, runs) for line, target, runs in visitor.found]
    return modules, tuple(imports)


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def kafka_outside_io(root: Path) -> list[str]:
    io = f"{root.name}.io"
    return [
        f"{i.where()}: only {io}.* may import confluent_kafka"
        for i in scan(root)[1]
        if _under(i.target, "confluent_kafka") and not _under(i.module, io)
    ]


def _kernel(root: Path, target: str) -> bool:
    """A numba kernel module (not the numba-free ones anyone may import)."""
    pkg = root.name
    return _under(target, f"{pkg}.kernels") and target not in {f"{pkg}.{m}" for m in KERNELS_FOR_ALL}


def kernels_outside_wrappers(root: Path, wrappers: frozenset[str] = WRAPPERS) -> list[str]:
    kernels = f"{root.name}.kernels"
    return [
        f"{i.where()}: only the WRAPPERS in tests/unit/test_layers.py may import a kernel "
        f"(take constants from {kernels}.codes, or add the module to WRAPPERS on purpose)"
        for i in scan(root)[1]
        if _kernel(root, i.target) and not _under(i.module, kernels) and i.module not in wrappers
    ]


def stale_wrappers(root: Path, wrappers: frozenset[str] = WRAPPERS) -> list[str]:
    kernels = f"{root.name}.kernels"
    wrapping = {i.module for i in scan(root)[1] if _kernel(root, i.target) and not _under(i.module, kernels)}
    return [f"{w} is in WRAPPERS but imports no kernel: take it out of the list" for w in sorted(wrappers - wrapping)]


def kernels_importing_the_engine(root: Path) -> list[str]:
    pkg, kernels = root.name, f"{root.name}.kernels"
    return [
        f"{i.where()}: {kernels}.* may import only other kernels of {pkg}"
        for i in scan(root)[1]
        if _under(i.module, kernels) and _under(i.target, pkg) and not _under(i.target, kernels)
    ]


def upward_imports(root: Path) -> list[str]:
    pkg = root.name
    return [
        f"{i.where()}: {pkg}.{stage} must not import {pkg}.{above}"
        for i in scan(root)[1]
        for stage, aboves in FORBIDDEN.items()
        if _under(i.module, f"{pkg}.{stage}")
        for above in aboves
        if _under(i.target, f"{pkg}.{above}")
    ]


def import_cycle(root: Path) -> list[str]:
    """The first cycle of module-level imports between the package's modules, as a path (empty: none)."""
    modules, imports = scan(root)
    graph: dict[str, list[str]] = {m: [] for m in sorted(modules)}
    for i in imports:
        if i.runs_on_import and i.target in modules and i.target != i.module and i.target not in graph[i.module]:
            graph[i.module].append(i.target)
    state: dict[str, int] = {}  # 1: on the DFS path, 2: done
    path: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        path.append(m)
        for n in graph[m]:
            if state.get(n) == 1:
                return [*path[path.index(n) :], n]
            if n not in state and (cycle := visit(n)):
                return cycle
        path.pop()
        state[m] = 2
        return []

    for m in graph:
        if m not in state and (cycle := visit(m)):
            return [f"import cycle: {' -> '.join(cycle)}"]
    return []


def _report(violations: list[str]) -> str:
    return "\n" + "\n".join(violations)


def test_the_scan_sees_the_whole_package() -> None:
    modules, imports = scan(ROOT)
    assert {"anpr_engine.io.group_source", "anpr_engine.kernels.normalize", "anpr_engine.cli.engine"} <= modules
    assert any(_under(i.target, "confluent_kafka") for i in imports)
    assert any(not i.runs_on_import for i in imports)  # imports inside functions are seen too


@pytest.mark.parametrize(
    "check",
    [kafka_outside_io, kernels_outside_wrappers, stale_wrappers, kernels_importing_the_engine, upward_imports,
     import_cycle],
    ids=lambda check: check.__name__,
)  # fmt: skip
def test_the_package_keeps_the_rule(check: Callable[[Path], list[str]]) -> None:
    """kafka_outside_io: only io/ imports confluent_kafka; kernels_outside_wrappers and stale_wrappers:
    kernels are imported by the WRAPPERS and each of them uses one; kernels_importing_the_engine:
    kernels import nothing of the package outside kernels/; upward_imports: no stage imports one
    above it; import_cycle: no circle of module-level imports."""
    violations = check(ROOT)
    assert not violations, _report(violations)


FAKE = {  # a small package with one violation of each rule, and imports that break none
    "__init__.py": "",
    "config.py": "",
    "kernels/__init__.py": "",
    "kernels/codes.py": "BASE = 37\n",
    "kernels/jit.py": "",
    "kernels/normalize.py": "from anpr_engine.kernels.codes import BASE\nfrom anpr_engine.config import X\n",
    "codec/__init__.py": "",
    "codec/reads.py": "def decode():\n    import confluent_kafka\n",
    "codec/clean.py": "from anpr_engine.kernels.codes import BASE\nfrom anpr_engine.kernels import jit\n",
    "match/__init__.py": "",
    "match/normalize.py": "from anpr_engine.kernels import normalize as k\n",
    "match/watchlist.py": "from anpr_engine.kernels.normalize import BASE\nimport anpr_engine.engine.loop\n",
    "engine/__init__.py": "",
    "engine/loop.py": (
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from anpr_engine.io import source\n"
        "def step():\n    from anpr_engine.match import watchlist\n"
    ),
    "io/__init__.py": "",
    "io/source.py": "import confluent_kafka\nfrom . import group\n",
    "io/group.py": "from confluent_kafka import Consumer\n\ndef later():\n    from anpr_engine.io import source\n",
    "console/__init__.py": "",
    "console/app.py": "from ..cli import main\n",
    "cli/__init__.py": "",
    "cli/main.py": "from anpr_engine.console import app\n",
}


def test_the_checks_catch_each_kind_of_violation(tmp_path: Path) -> None:
    root = tmp_path / "anpr_engine"
    for name, text in FAKE.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    wrappers = frozenset({"anpr_engine.match.normalize", "anpr_engine.codec.clean"})

    assert kafka_outside_io(root) == [
        "anpr_engine/codec/reads.py:2: anpr_engine.codec.reads imports confluent_kafka: "
        "only anpr_engine.io.* may import confluent_kafka"
    ]  # inside a function, and io's own imports are fine
    assert kernels_outside_wrappers(root, wrappers) == [
        "anpr_engine/match/watchlist.py:1: anpr_engine.match.watchlist imports anpr_engine.kernels.normalize: "
        "only the WRAPPERS in tests/unit/test_layers.py may import a kernel "
        "(take constants from anpr_engine.kernels.codes, or add the module to WRAPPERS on purpose)"
    ]
    assert stale_wrappers(root, wrappers) == [
        "anpr_engine.codec.clean is in WRAPPERS but imports no kernel: take it out of the list"
    ]  # codes and jit are no kernels
    assert kernels_importing_the_engine(root) == [
        "anpr_engine/kernels/normalize.py:2: anpr_engine.kernels.normalize imports anpr_engine.config: "
        "anpr_engine.kernels.* may import only other kernels of anpr_engine"
    ]
    assert upward_imports(root) == [
        "anpr_engine/console/app.py:1: anpr_engine.console.app imports anpr_engine.cli.main: "
        "anpr_engine.console must not import anpr_engine.cli",
        "anpr_engine/engine/loop.py:3: anpr_engine.engine.loop imports anpr_engine.io.source: "
        "anpr_engine.engine must not import anpr_engine.io",
    ]  # under TYPE_CHECKING too; cli importing console is fine
    # the module-level cycle is found; engine.loop <-> match.watchlist and io.source <-> io.group are
    # none, each having one side inside a function
    assert import_cycle(root) == [
        "import cycle: anpr_engine.cli.main -> anpr_engine.console.app -> anpr_engine.cli.main"
    ]
