"""End to end through ``scripts/train.py``: a tiny real run, resume, DDP on 2 CPU processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import REPO_ROOT, run_train
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

pytestmark = pytest.mark.slow

TINY_RUN = [
    "style=starry_night",
    "experiment=cpu_quick",
    "model=small",
    "data.image_size=64",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.num_preview=2",
    "callbacks.previews.every_n_steps=2",
    "callbacks.model_checkpoint.every_n_train_steps=2",
    "trainer.log_every_n_steps=1",
    "trainer.enable_progress_bar=false",
]


def events(run_dir: Path) -> EventAccumulator:
    files = sorted((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    assert files, f"no TensorBoard event file in {run_dir}"
    accumulator = EventAccumulator(str(files[-1]), size_guidance={"images": 0, "scalars": 0})
    accumulator.Reload()
    return accumulator


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, assets_dir):
    root = tmp_path_factory.mktemp("train")
    done = run_train(*TINY_RUN, "trainer.max_steps=3", f"checkpoint_dir={root / 'ckpt'}", f"hydra.run.dir={root / 'run'}")
    assert done.returncode == 0, done.stderr[-3000:]
    return root


def test_tiny_run_writes_a_slim_checkpoint(first_run):
    payload = torch.load(first_run / "ckpt" / "starry_night.pth", weights_only=True)
    assert payload["style"] == "starry_night"
    assert payload["model_args"]["width"] == 16
    assert payload["config"]["data"]["image_size"] == 64
    assert payload["meta"]["global_step"] == 3
    assert all(torch.isfinite(value).all() for value in payload["state_dict"].values())
    from fast_style.checkpoint import model_from_checkpoint, read_checkpoint

    out = model_from_checkpoint(read_checkpoint(first_run / "ckpt" / "starry_night.pth"))(torch.rand(1, 3, 21, 30))
    assert out.shape == (1, 3, 21, 30)


def test_tiny_run_logs_losses_and_preview_images(first_run):
    accumulator = events(first_run / "run")
    tags = accumulator.Tags()
    assert {"train/content", "train/style", "train/tv", "train/total"} <= set(tags["scalars"])
    assert "preview/stylised" in tags["images"]
    assert sorted((first_run / "run" / "tensorboard" / "previews").glob("step*.png"))
    totals = [event.value for event in accumulator.Scalars("train/total")]
    assert len(totals) == 3 and all(value > 0 for value in totals)


def test_lightning_checkpoint_keeps_optimiser_state_but_not_vgg(first_run):
    state = torch.load(first_run / "run" / "lightning_checkpoints" / "last.ckpt", weights_only=False)
    assert state["optimizer_states"] and state["optimizer_states"][0]["state"]
    assert not any(key.startswith("loss_fn.") for key in state["state_dict"])


def test_resume_continues_from_the_saved_step(first_run, tmp_path):
    last = first_run / "run" / "lightning_checkpoints" / "last.ckpt"
    done = run_train(
        *TINY_RUN, "trainer.max_steps=5", f"ckpt_path={last}",
        f"checkpoint_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = torch.load(tmp_path / "ckpt" / "starry_night.pth", weights_only=True)
    assert payload["meta"]["global_step"] == 5
    steps = [event.step for event in events(tmp_path / "run").Scalars("train/total")]
    assert steps and min(steps) >= 3, steps  # steps 0-2 were not trained again


def test_unknown_style_fails_with_the_list(tmp_path):
    done = run_train("style=starry", f"hydra.run.dir={tmp_path}")
    assert done.returncode != 0
    assert "starry_night" in done.stderr and "candy" in done.stderr


def test_missing_train_dir_is_a_clear_error(tmp_path, assets_dir):
    done = run_train(*TINY_RUN, f"data.train_dir={tmp_path / 'nowhere'}", f"hydra.run.dir={tmp_path / 'run'}")
    assert done.returncode == 2
    assert "nowhere" in done.stderr and "does not exist" in done.stderr


def test_ddp_on_two_cpu_processes_writes_one_checkpoint(tmp_path, assets_dir):
    done = run_train(
        *TINY_RUN, "trainer.max_steps=2", "trainer.devices=2", "trainer.strategy=ddp", "trainer.accelerator=cpu",
        f"checkpoint_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={tmp_path / 'run'}", timeout=420,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["starry_night.pth"]
    payload = torch.load(tmp_path / "ckpt" / "starry_night.pth", weights_only=True)
    assert payload["meta"]["global_step"] == 2
    assert "world_size=2" in done.stderr or "distributed_backend=gloo" in done.stderr


def test_mixed_precision_trains_with_float32_weights(tmp_path, assets_dir):
    # bf16-mixed is the CPU equivalent of the gpu preset's 16-mixed: the same autocast path
    # through the network's train-mode rewrites and the float32 Gram/loss sums.
    done = run_train(
        *TINY_RUN, "trainer.max_steps=2", "trainer.precision=bf16-mixed",
        f"checkpoint_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={tmp_path / 'run'}",
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = torch.load(tmp_path / "ckpt" / "starry_night.pth", weights_only=True)
    assert payload["config"]["trainer"]["precision"] == "bf16-mixed"
    # The resumable checkpoint holds the weights as trained (the slim one is cast to float32 on
    # saving, so it could not tell): mixed precision keeps the master weights in float32.
    state = torch.load(tmp_path / "run" / "lightning_checkpoints" / "last.ckpt", weights_only=False)["state_dict"]
    weights = [value for key, value in state.items() if key.startswith("model.") and value.is_floating_point()]
    assert weights and all(value.dtype == torch.float32 and torch.isfinite(value).all() for value in weights)
    totals = [event.value for event in events(tmp_path / "run").Scalars("train/total")]
    assert len(totals) == 2 and all(0 < value < float("inf") for value in totals)


def _zoo_fingerprint() -> dict[str, bytes]:
    from fast_style.zoo import ZOO_DIR

    return {path.name: path.read_bytes() for path in sorted(ZOO_DIR.iterdir()) if path.is_file()}


def test_zoo_recipe_trains_into_checkpoints_never_into_the_zoo(tmp_path, assets_dir):
    # The recipe the shipped networks were trained with, shrunk; run from another folder so the
    # default checkpoint_dir ("checkpoints") resolves there and never in this checkout.
    before = _zoo_fingerprint()
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "FAST_STYLE_ASSETS": str(assets_dir)}
    overrides = [
        "style=candy", "experiment=zoo", "model=small", "data.image_size=64", "data.batch_size=2",
        "data.num_workers=0", "data.num_preview=2", "trainer.max_steps=2", "trainer.enable_progress_bar=false",
        f"hydra.run.dir={tmp_path / 'run'}",
    ]
    done = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "train.py"), *overrides],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    payload = torch.load(tmp_path / "checkpoints" / "candy.pth", weights_only=True)
    assert payload["config"]["module"]["lr_schedule"] == "cosine"
    assert payload["meta"]["precision"] in ("bf16-mixed", "32-true") and payload["meta"]["machine"]
    assert _zoo_fingerprint() == before


def test_quality_vs_steps_places_every_kept_checkpoint(first_run, tmp_path):
    script = REPO_ROOT / "scripts" / "quality_vs_steps.py"
    photos = tmp_path / "photos"
    photos.mkdir()
    from PIL import Image

    Image.new("RGB", (40, 36), (150, 90, 60)).save(photos / "p.png")
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    done = subprocess.run(
        [sys.executable, str(script), "--ckpt", str(first_run / "ckpt" / "starry_night.pth"),
         "--run-dir", str(first_run / "run"), "--images", str(photos), "--limit", "1", "--size", "32",
         "--iters", "2", "--output", str(tmp_path / "out")],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    saved = sorted(int(p.stem[4:]) for p in (first_run / "run" / "lightning_checkpoints").glob("step*.ckpt"))
    table = (tmp_path / "out" / "n_star.md").read_text()
    rows = [line.split("|")[1].strip() for line in table.splitlines() if line.startswith("| ") and "steps" not in line]
    assert rows == [str(step) for step in sorted({*saved, 3})]  # every kept checkpoint, then the final network
    assert (tmp_path / "out" / "n_star_vs_steps.png").is_file()
