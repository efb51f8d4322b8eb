"""What tests share besides fixtures: the checkout's paths, a tiny network and its checkpoint, the
training config as Hydra composes it, the TensorBoard logs of a run, and the scripts as modules.

Import as ``from tests.helpers import ...`` (``tests`` is a package, so pytest puts the checkout's
root on ``sys.path``); fixtures live in ``tests/conftest.py``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import torch
from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from fast_style.checkpoint import save_inference_checkpoint
from fast_style.infer.export import export_model
from fast_style.loss.perceptual import PerceptualLossSettings
from fast_style.models import TransformerNet

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
TINY_MODEL_ARGS = {"width": 4, "num_residual_blocks": 1, "norm": "instance", "output_activation": "sigmoid"}


def make_tiny_model() -> TransformerNet:
    """A randomly initialised (seed 0), very narrow TransformerNet in eval mode."""
    torch.manual_seed(0)
    return TransformerNet(**TINY_MODEL_ARGS).eval()


def save_tiny_checkpoint(model: TransformerNet, path: Path) -> Path:
    """``model`` as a slim inference checkpoint of style "tiny" with a training-like config, at ``path``."""
    loss = PerceptualLossSettings(style_image="styles/starry_night.jpg", style_size=64)
    config = {
        "style": {"name": "tiny", "image": loss.style_image, "style_weight": loss.style_weight},
        "model": dict(TINY_MODEL_ARGS),
        "loss": loss.as_dict(),
    }
    return save_inference_checkpoint(model, path, style="tiny", config=config)


# Where export_once keeps what it exported, for one test session and all its workers (tests/conftest.py
# makes the folder, sets the variable before pytest-xdist starts the workers, and removes it at the end).
EXPORTS_ENV = "FAST_STYLE_TEST_EXPORTS"


def export_once(model: torch.nn.Module, path: str | os.PathLike, fmt: str, reuse: bool = True) -> Path:
    """``fast_style.infer.export.export_model``, run once per network content and format in a test session.

    An ONNX export takes seconds (torch.export's tracing); a test whose subject is not the export itself
    gets the bytes an earlier export of the same network (class, ``model_args``, modules, weights, mode)
    wrote, in this worker or another. Exports are deterministic, so the file is the one ``export_model``
    would write. ``reuse=False`` always exports (a test of the export itself) and keeps the result.
    """
    digest = hashlib.sha256(repr((fmt, type(model).__qualname__, getattr(model, "model_args", None), repr(model),
                                  model.training)).encode())
    for name, value in model.state_dict().items():
        digest.update(f"{name} {value.dtype} {tuple(value.shape)}".encode())
        digest.update(value.detach().cpu().contiguous().numpy().tobytes())
    kept = Path(os.environ[EXPORTS_ENV]) / f"{digest.hexdigest()}.{fmt}"
    path = Path(path)
    if reuse and kept.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(kept, path)
        return path
    path = export_model(model, path, fmt)  # the real one, imported before any test patches it
    partial = kept.with_name(f"{kept.name}.{os.getpid()}.part")  # whole or absent for the other worker
    shutil.copyfile(path, partial)
    os.replace(partial, kept)
    return path


def compose_train(*overrides: str) -> DictConfig:
    """``configs/train.yaml`` composed with Hydra overrides, as ``scripts/train.py`` would see it.

    ``run_dir`` stays unresolved (it needs Hydra's runtime); :func:`fast_style.train.run.train` sets it.
    """
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose("train", overrides=list(overrides))


def run_train_script(*overrides: str, cwd: Path = REPO_ROOT, timeout: int = 300,
                     popen: bool = False) -> subprocess.CompletedProcess | subprocess.Popen:
    """``python scripts/train.py <overrides>`` in a child process, as users run it (warnings silenced).

    Only for what needs a process of its own (DDP, SIGKILL): everything else trains in-process.
    Returns the finished process (never raising on failure), or the running one with ``popen=True``.
    """
    args = [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if popen:
        return subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def load_script(name: str) -> ModuleType:
    """``scripts/<name>.py`` imported as a module, to call its ``main`` in-process."""
    path = REPO_ROOT / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"scripts_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def events(run_dir: Path):
    """The TensorBoard events (scalars, images) a training run wrote into ``<run_dir>/tensorboard``."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    files = sorted((Path(run_dir) / "tensorboard").glob("events.out.tfevents.*"))
    assert files, f"no TensorBoard event file in {run_dir}"
    accumulator = EventAccumulator(str(files[-1]), size_guidance={"images": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator
