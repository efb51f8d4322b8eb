"""Training from an installed package: the wheel carries the configs, ``fast-style-train`` runs outside the checkout.

The wheel is built from the checkout, installed into a folder of its own (not the editable
install the suite runs from) and its console script trains a seconds-long run (``debug=default``)
from a folder outside the checkout. ``python -s`` with ``PYTHONPATH`` at that folder: the installed
package comes before the virtual environment's site-packages, where the editable install's finder
would only be asked after the path has been searched.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from omegaconf import OmegaConf

from fast_style.checkpoint import read_checkpoint
from tests.helpers import REPO_ROOT


def _source_copy(target: Path) -> Path:
    """What the wheel is built from, copied: a build in the checkout would reuse its stale ``build/`` folder.

    The zoo's networks (45 MB, which a debug run does not read) are left out, so the wheel builds in a moment.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.pth")
    shutil.copytree(REPO_ROOT / "fast_style", target / "fast_style", symlinks=True, ignore=ignore)
    shutil.copytree(REPO_ROOT / "configs", target / "configs")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(REPO_ROOT / name, target / name)
    return target


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"], check=True,
                   capture_output=True, timeout=300)


def test_fast_style_train_runs_from_an_installed_wheel_outside_the_checkout(tmp_path: Path, assets_dir: Path):
    source = _source_copy(tmp_path / "source")
    _pip("wheel", "--no-deps", "--no-build-isolation", "--wheel-dir", str(tmp_path / "dist"), str(source))
    wheel = next((tmp_path / "dist").glob("fast_style-*.whl"))
    _pip("install", "--no-deps", "--no-compile", "--target", str(tmp_path / "site"), str(wheel))
    installed = tmp_path / "site" / "fast_style"
    assert (installed / "configs" / "train.yaml").is_file() and not (installed / "configs").is_symlink()
    away = tmp_path / "away"
    away.mkdir()
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site"), "PYTHONWARNINGS": "ignore",
           "FAST_STYLE_ASSETS": str(assets_dir)}
    done = subprocess.run([sys.executable, "-s", str(tmp_path / "site" / "bin" / "fast-style-train"), "style=candy",
                           "debug=default", "hydra/job_logging=disabled"],
                          cwd=away, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert read_checkpoint(away / "checkpoints" / "candy.pth").style == "candy"
    # The configs it composed are the installed package's: the run's own record of its search path says so.
    (run_dir,) = (away / "outputs" / "candy").iterdir()
    hydra = OmegaConf.load(run_dir / ".hydra" / "hydra.yaml").hydra
    used = [source.path for source in hydra.runtime.config_sources if source.provider == "main"]
    assert used == [str(installed / "configs")] and Path(hydra.runtime.cwd) == away
