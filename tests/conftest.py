"""Shared fixtures: the asset mirror, tiny images, tiny networks and checkpoints, a composed training config.

Tests that are about real assets use the mirror through ``$FAST_STYLE_ASSETS`` (CI sets it
to ``../shared/assets``); a missing mirror fails those tests loudly instead of skipping.
Helpers that are not fixtures (paths, ``compose_train``) are in ``tests/helpers.py``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from omegaconf import DictConfig
from PIL import Image

import fast_style.train  # noqa: F401  (registers ${loss_default:...}: tests compose configs with Hydra directly)
from fast_style.models import TransformerNet
from tests.helpers import EXPORTS_ENV, compose_train, export_once, make_tiny_model, save_tiny_checkpoint

# The tests' tensors are tiny, and the 2-core machines they run on are shared: with more than one
# intra-op thread, OpenMP threads spin waiting for each other (a 3-step run took 5-10 s instead of
# 0.8 s). One thread, for this process and the scripts it starts; OMP_NUM_THREADS=N overrides it.
os.environ.setdefault("OMP_NUM_THREADS", "1")
torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

# CI gives the mirror as a relative path (../shared/assets); tests that change folder (to check
# where outputs land) must still find it, so it is pinned to an absolute path once, up front.
if os.environ.get("FAST_STYLE_ASSETS"):
    os.environ["FAST_STYLE_ASSETS"] = str(Path(os.environ["FAST_STYLE_ASSETS"]).resolve())


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """``-n auto`` (pyproject.toml): two workers for the suite or a folder, one per core of the 2-core machines;
    none when the command names test files (a worker costs seconds of imports that a short run never wins back)."""
    named_files = config.args_source == pytest.Config.ArgsSource.ARGS and all(
        Path(arg.split("::")[0]).is_file() for arg in config.args)
    return 0 if named_files else 2


def pytest_configure(config: pytest.Config) -> None:
    """The session's folder of exports (``tests.helpers.export_once``), made by the main process (not an xdist
    worker), whose environment the workers inherit."""
    if not hasattr(config, "workerinput") and EXPORTS_ENV not in os.environ:
        config.exports_folder = tempfile.mkdtemp(prefix="pytest_exports_")
        os.environ[EXPORTS_ENV] = config.exports_folder


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = getattr(config, "exports_folder", None)
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(EXPORTS_ENV, None)


@pytest.fixture(scope="session")
def assets_dir() -> Path:
    """The asset mirror; fails (never skips) when it is not configured."""
    root = os.environ.get("FAST_STYLE_ASSETS")
    if not root:
        pytest.fail("FAST_STYLE_ASSETS is not set; run tests with FAST_STYLE_ASSETS=../shared/assets")
    path = Path(root).resolve()
    if not (path / "weights" / "vgg16_imagenet_caffe.pth").is_file():
        pytest.fail(f"FAST_STYLE_ASSETS={root!r} does not hold weights/vgg16_imagenet_caffe.pth")
    return path


@pytest.fixture
def photo_dir(tmp_path: Path) -> Path:
    """A folder of five small synthetic RGB photos of different sizes."""
    folder = tmp_path / "photos"
    folder.mkdir()
    generator = torch.Generator().manual_seed(0)
    for index, (w, h) in enumerate([(40, 30), (33, 47), (64, 64), (50, 21), (29, 29)]):
        array = (torch.rand(h, w, 3, generator=generator) * 255).byte().numpy()
        Image.fromarray(array, "RGB").save(folder / f"photo_{index}.png")
    return folder


@pytest.fixture
def tiny_model() -> TransformerNet:
    """A randomly initialised, very narrow TransformerNet in eval mode."""
    return make_tiny_model()


@pytest.fixture
def tiny_checkpoint(tmp_path: Path, tiny_model: TransformerNet) -> Path:
    """A slim inference checkpoint of ``tiny_model`` with a training-like config."""
    return save_tiny_checkpoint(tiny_model, tmp_path / "tiny.pth")


@pytest.fixture
def reused_exports(monkeypatch: pytest.MonkeyPatch) -> None:
    """``export_model`` as :func:`tests.helpers.export_once` (one export per network in the session), for tests
    about what happens around an export (a backend, a temporary folder), never for tests of the export."""
    import fast_style.infer.export

    monkeypatch.setattr(fast_style.infer.export, "export_model", export_once)


@pytest.fixture
def train_config(tmp_path: Path, photo_dir: Path, assets_dir: Path) -> Callable[..., DictConfig]:
    """Compose ``configs/train.yaml`` with ``debug=default`` and the given overrides (later ones win).

    The run trains in a second or two in-process (``fast_style.train.run.train(config, run_dir)``):
    the tiny network, 32-px crops of ``photo_dir``, a random VGG, 3 steps; the slim checkpoint goes to
    ``tmp_path / "ckpt"``. Each call composes afresh, so a test may compose several configs.
    """

    def compose(*overrides: str) -> DictConfig:
        return compose_train(
            "debug=default", f"data.train_dir={photo_dir}", f"data.val_dir={photo_dir}",
            f"checkpoint_dir={tmp_path / 'ckpt'}", *overrides,
        )

    return compose
