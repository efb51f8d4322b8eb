"""The package's shape: no function in fast_style/ longer than 60 lines; the base imports none of the paths.

Function length is counted from ``def`` to its last line: docstrings and decorators' lines after
``def`` count too; a long function is split by meaning (a reader, a meter, a writer), not by line
count. The base (the top-level modules ``fast_style/*.py``) serves the training, inference and
baseline paths and imports none of them, at the top or inside a function. Every offender is
listed, not just the first.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "fast_style"
MAX_LINES = 60
PATHS = ("train", "infer", "baseline")


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


def path_imports(package: Path, paths: tuple[str, ...] = PATHS) -> list[str]:
    """``module.py:line name`` of every import of ``<package>.<path>`` in a top-level module of ``package``.

    Absolute (``import fast_style.infer.stylize``, ``from fast_style.train import x``,
    ``from fast_style import baseline``) and relative (``from .infer import x``, ``from . import train``)
    imports count, wherever they stand: a lazy import inside a function is a dependency all the same.
    """
    name = package.name
    found = []
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = "." * node.level + (node.module or "")
                base = name + base[node.level - 1:] if node.level else base
                modules = [base] + [f"{base}.{alias.name}".replace("..", ".") for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if len(parts) > 1 and parts[0] == name and parts[1] in paths:
                    found.append(f"{path.name}:{node.lineno} {module}")
                    break
    return found


def test_no_top_level_module_imports_a_path():
    offenders = path_imports(PACKAGE)
    assert offenders == [], "top-level modules importing train/, infer/ or baseline/:\n" + "\n".join(offenders)


def test_the_import_check_sees_every_form_of_import(tmp_path: Path):
    package = tmp_path / "fast_style"
    (package / "infer").mkdir(parents=True)
    (package / "infer" / "stylize.py").write_text("x = 1\n")  # below the top level: may import anything
    (package / "infer" / "uses.py").write_text("from fast_style.train import run\n")
    (package / "base.py").write_text("import os\nfrom fast_style import errors\nfrom fast_style.zoo import spec\n"
                                     "from .errors import E\n")
    assert path_imports(package) == []
    (package / "lazy.py").write_text("def f():\n    from fast_style.infer.stylize import stylize\n")
    (package / "plain.py").write_text("import fast_style.baseline.compare\n")
    (package / "named.py").write_text("from fast_style import errors, train\n")
    (package / "relative.py").write_text("from .infer import stylize\nfrom . import baseline\n")
    assert path_imports(package) == ["lazy.py:2 fast_style.infer.stylize", "named.py:1 fast_style.train",
                                     "plain.py:1 fast_style.baseline.compare", "relative.py:1 fast_style.infer",
                                     "relative.py:2 fast_style.baseline"]
