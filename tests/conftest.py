"""Shared fixtures: the asset mirror, tiny images, tiny networks and checkpoints.

Tests that are about real assets use the mirror through ``$FAST_STYLE_ASSETS`` (CI sets it
to ``../shared/assets``); a missing mirror fails those tests loudly instead of skipping.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.checkpoint import save_inference_checkpoint
from fast_style.loss.perceptual import PerceptualLossSettings
from fast_style.models import TransformerNet

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
TINY_MODEL_ARGS = {"width": 4, "num_residual_blocks": 1, "norm": "instance", "output_activation": "sigmoid"}


def run_train(*overrides: str, timeout: int = 300) -> subprocess.CompletedProcess:
    """``scripts/train.py`` with Hydra overrides in a subprocess (warnings silenced), never raising on failure."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )


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
    torch.manual_seed(0)
    return TransformerNet(**TINY_MODEL_ARGS).eval()


@pytest.fixture
def tiny_checkpoint(tmp_path: Path, tiny_model: TransformerNet) -> Path:
    """A slim inference checkpoint of ``tiny_model`` with a training-like config."""
    loss = PerceptualLossSettings(style_image="styles/starry_night.jpg", style_size=64)
    config = {
        "style": {"name": "tiny", "image": loss.style_image, "style_weight": loss.style_weight},
        "model": dict(TINY_MODEL_ARGS),
        "loss": loss.as_dict(),
    }
    return save_inference_checkpoint(tiny_model, tmp_path / "tiny.pth", style="tiny", config=config)
