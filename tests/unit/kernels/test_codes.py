"""What the wrappers build on: kernels/codes.py (constants without numba) and kernels/jit.py (every
kernel compiled with the same flags)."""

import ast
import subprocess
import sys
from pathlib import Path

import anpr_engine.kernels

KERNELS = Path(anpr_engine.kernels.__file__).parent


def test_the_config_and_the_console_scripts_import_neither_numba_nor_numpy() -> None:
    code = (
        "import sys, anpr_engine.kernels.codes, anpr_engine.config, anpr_engine.cli.alerts, anpr_engine.cli.console; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'numba', 'numpy'}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_kernels_are_compiled_through_jit_only() -> None:
    for path in sorted(KERNELS.glob("*.py")):
        imports = _imports(path)
        if path.name == "jit.py":
            assert "numba" in imports
            continue
        assert not any(m.split(".")[0] == "numba" for m in imports), f"{path.name}: use anpr_engine.kernels.jit"
        if path.name == "codes.py":
            assert imports <= {"numpy"}, "codes.py imports numpy at most"
        elif path.name != "__init__.py":
            assert "anpr_engine.kernels.jit" in imports, path.name
