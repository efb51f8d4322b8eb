"""The commands: every ``scripts/*.py`` runs from a checkout, every console script points at a real ``main``."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import tomllib

from tests.helpers import REPO_ROOT

SCRIPTS = sorted(path.name for path in (REPO_ROOT / "scripts").glob("*.py"))
CONSOLE_SCRIPTS = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["scripts"]

# Runs each script as ``python scripts/x.py --help`` would (its folder first on sys.path, run as __main__),
# all in one child process: one import of torch, Lightning and Hydra instead of one per script.
_HELP_ALL = """
import contextlib, io, json, runpy, sys
results = {}
for path in sys.argv[1:]:
    out, code = io.StringIO(), 0
    sys.argv, sys.path[0] = [path, "--help"], path.rsplit("/", 1)[0]
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(path, run_name="__main__")
    except SystemExit as leaving:
        code = leaving.code or 0
    except BaseException as error:
        code = f"{type(error).__name__}: {error}"
    results[path.rsplit("/", 1)[1]] = [code, out.getvalue()[:500]]
print(json.dumps(results))
"""


def test_every_script_answers_help():
    """Run as users do (``python scripts/x.py``, from any folder): imports resolve, the parser builds."""
    result = subprocess.run([sys.executable, "-c", _HELP_ALL, *(str(REPO_ROOT / "scripts" / name) for name in SCRIPTS)],
                            cwd=REPO_ROOT.parent, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    answers = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(answers) == SCRIPTS
    for script, (code, text) in answers.items():
        assert code == 0, (script, code)
        assert "usage" in text.lower() or "powered by hydra" in text.lower(), (script, text)


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
