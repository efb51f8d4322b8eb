"""The commands: every ``scripts/*.py`` runs from a checkout, every console script points at a real ``main``."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = sorted(path.name for path in (REPO_ROOT / "scripts").glob("*.py"))
CONSOLE_SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_every_script_answers_help(script: str):
    """Run as users do (``python scripts/x.py``, from any folder): imports resolve, the parser builds."""
    result = subprocess.run([sys.executable, str(REPO_ROOT / "scripts" / script), "--help"], cwd=REPO_ROOT.parent,
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "usage" in result.stdout.lower() or "powered by hydra" in result.stdout.lower(), result.stdout[:500]


@pytest.mark.parametrize("name", sorted(CONSOLE_SCRIPTS))
def test_console_scripts_point_at_a_main(name: str):
    module_name, _, function = CONSOLE_SCRIPTS[name].partition(":")
    entry = getattr(importlib.import_module(module_name), function)
    assert callable(entry)
    with pytest.raises(SystemExit) as leaving:  # argparse's --help exits 0 after printing the usage
        entry(["--help"])
    assert leaving.value.code == 0


def test_each_shim_runs_the_console_scripts_main():
    """scripts/<x>.py and fast-style-<x> are one command: the shim imports the same ``main``."""
    shims = {"stylize.py": "fast-style-stylize", "stylize_video.py": "fast-style-video", "export.py": "fast-style-export",
             "app.py": "fast-style-app", "compare.py": "fast-style-compare"}
    for script, command in shims.items():
        module_name = CONSOLE_SCRIPTS[command].partition(":")[0]
        assert f"from {module_name} import main" in (REPO_ROOT / "scripts" / script).read_text(), script
