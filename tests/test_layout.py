"""The package's shape: no function in fast_style/ longer than 60 lines, counted from ``def`` to its last line.

Docstrings and decorators' lines after ``def`` count too; a long function is split by meaning
(a reader, a meter, a writer), not by line count. Every offender is listed, not just the first.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fast_style"
MAX_LINES = 60


def long_functions(root: Path, limit: int = MAX_LINES) -> list[str]:
    """``path:line name (N lines)`` of every function or method under ``root`` longer than ``limit`` lines."""
    found = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                if lines > limit:
                    found.append(f"{path.relative_to(root.parent)}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_no_function_is_longer_than_60_lines():
    offenders = long_functions(PACKAGE)
    assert offenders == [], "functions over 60 lines:\n" + "\n".join(offenders)


def test_the_check_sees_a_long_function_and_a_long_method(tmp_path: Path):
    package = tmp_path / "pkg"
    package.mkdir()
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (package / "a.py").write_text(f"def short():\n    return 1\n\n\ndef long():\n{body}\n")
    method = lambda lines: "class A:\n    def method(self):\n" + "\n".join(f"        y{i} = {i}" for i in range(lines)) + "\n"
    (package / "b.py").write_text(method(59))  # exactly 60 lines: allowed
    assert long_functions(package) == ["pkg/a.py:5 long (61 lines)"]
    (package / "b.py").write_text(method(60))
    assert long_functions(package) == ["pkg/a.py:5 long (61 lines)", "pkg/b.py:2 method (61 lines)"]
