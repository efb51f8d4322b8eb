"""Training end to end: tiny runs in-process (``debug=default``), resume, mixed precision, the zoo recipe,
and ``scripts/train.py`` itself once, as users run it, on 2 DDP processes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
from fast_style.train.run import train
from tests.helpers import compose_train, events, load_script, run_train_script


@pytest.fixture(scope="module")
def first_run(tmp_path_factory, assets_dir):
    """3 steps of the default style on the asset photos, checkpoints at step 2 and at the end."""
    root = tmp_path_factory.mktemp("train")
    config = compose_train("debug=default", f"checkpoint_dir={root / 'ckpt'}")
    assert train(config, root / "run") == root / "ckpt" / "starry_night.pth"
    return root


def test_tiny_run_writes_a_slim_checkpoint(first_run):
    payload = torch.load(first_run / "ckpt" / "starry_night.pth", weights_only=True)
    config = payload["config"]
    assert payload["style"] == "starry_night"
    assert payload["model_args"] == {key: config["model"][key] for key in payload["model_args"]}
    assert payload["training"]["steps"] == config["trainer"]["max_steps"] == 3
    # The network card, written explicitly: the loss, the painting and the crops it was trained with.
    from fast_style.checkpoint import read_card
    from fast_style.loss.perceptual import PerceptualLossSettings

    card = read_card(first_run / "ckpt" / "starry_night.pth")
    assert payload["format"] == "fast_style.network/2" and card.loss == PerceptualLossSettings.from_mapping(config["loss"])
    assert card.style_image("starry_night") == config["loss"]["style_image"]
    assert card.training.crop == config["data"]["image_size"]
    assert all(torch.isfinite(value).all() for value in payload["state_dict"].values())
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
    config = compose_train("debug=default", "trainer.max_steps=5", f"ckpt_path={last}", f"checkpoint_dir={tmp_path / 'ckpt'}")
    train(config, tmp_path / "run")
    payload = torch.load(tmp_path / "ckpt" / "starry_night.pth", weights_only=True)
    assert payload["training"]["steps"] == 5
    steps = [event.step for event in events(tmp_path / "run").Scalars("train/total")]
    assert sorted(steps) == [3, 4], steps  # steps 0-2 were not trained again


def test_the_script_trains_with_ddp_on_two_cpu_processes(tmp_path, assets_dir):
    # The one run of scripts/train.py as users start it (@hydra.main, its run dir, its last log line):
    # DDP needs processes of its own anyway.
    done = run_train_script(
        "debug=default", "trainer.max_steps=2", "trainer.devices=2", "trainer.strategy=ddp",
        f"checkpoint_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={tmp_path / 'run'}", timeout=420,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert [p.name for p in (tmp_path / "ckpt").iterdir()] == ["starry_night.pth"]
    payload = torch.load(tmp_path / "ckpt" / "starry_night.pth", weights_only=True)
    assert payload["training"]["steps"] == 2
    assert payload["config"]["run_dir"] == str(tmp_path / "run")
    assert "world_size=2" in done.stderr or "distributed_backend=gloo" in done.stderr
    assert f"inference checkpoint: {tmp_path / 'ckpt' / 'starry_night.pth'}" in done.stdout + done.stderr


def test_mixed_precision_trains_with_float32_weights(train_config, tmp_path):
    # bf16-mixed is the CPU equivalent of the gpu preset's 16-mixed: the same autocast path
    # through the network's train-mode rewrites and the float32 Gram/loss sums.
    path = train(train_config("trainer.max_steps=2", "trainer.precision=bf16-mixed"), tmp_path / "run")
    payload = torch.load(path, weights_only=True)
    assert payload["config"]["trainer"]["precision"] == payload["training"]["precision"] == "bf16-mixed"
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


def test_zoo_recipe_keeps_every_checkpoint_and_trains_into_checkpoints_never_into_the_zoo(
    tmp_path, photo_dir, assets_dir, monkeypatch,
):
    # The recipe the shipped networks were trained with, shrunk; run from another folder so the
    # default checkpoint_dir ("checkpoints") resolves there and never in this checkout.
    before = _zoo_fingerprint()
    monkeypatch.chdir(tmp_path)
    config = compose_train("style=candy", "experiment=zoo", "debug=default", "trainer.max_steps=5",
                           f"data.train_dir={photo_dir}", f"data.val_dir={photo_dir}")
    assert train(config, tmp_path / "run") == Path("checkpoints") / "candy.pth"
    payload = torch.load(tmp_path / "checkpoints" / "candy.pth", weights_only=True)
    assert payload["config"]["module"]["lr_schedule"] == "cosine" and payload["training"]["steps"] == 5
    assert payload["training"]["machine"]
    # Every periodic checkpoint is kept (quality along the run, scripts/quality_vs_steps.py), not just the best one.
    saved = sorted(p.name for p in (tmp_path / "run" / "lightning_checkpoints").glob("step*.ckpt"))
    assert saved == ["step0000002.ckpt", "step0000004.ckpt"]
    assert _zoo_fingerprint() == before


def test_quality_vs_steps_places_every_kept_checkpoint(first_run, tmp_path):
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (40, 36), (150, 90, 60)).save(photos / "p.png")
    status = load_script("quality_vs_steps").main([
        "--ckpt", str(first_run / "ckpt" / "starry_night.pth"), "--run-dir", str(first_run / "run"),
        "--images", str(photos), "--limit", "1", "--size", "32", "--iters", "2", "--output", str(tmp_path / "out"),
        "--curves", str(tmp_path / "curves"),  # never the repository's stored curves
    ])
    assert status == 0
    saved = sorted(int(p.stem[4:]) for p in (first_run / "run" / "lightning_checkpoints").glob("step*.ckpt"))
    table = (tmp_path / "out" / "n_star.md").read_text()
    rows = [line.split("|")[2].strip() for line in table.splitlines() if line.startswith("| ") and "steps" not in line]
    assert rows == [str(step) for step in sorted({*saved, 3})]  # every kept checkpoint, then the final network
    assert (tmp_path / "out" / "n_star_vs_steps.png").is_file()


def test_quality_vs_steps_puts_several_runs_on_minutes(first_run, tmp_path, train_config, monkeypatch):
    """--run LABEL=DIR for each run, judged by one style's loss, minutes from command_started."""
    import os
    import time

    photos = tmp_path / "eval_photos"
    photos.mkdir()
    Image.new("RGB", (40, 36), (150, 90, 60)).save(photos / "p.png")
    shared_run = tmp_path / "shared"
    train(train_config("experiment=multistyle", "styles=[candy,starry_night]", "trainer.max_steps=4"), shared_run)
    started = time.time() - 120
    for folder in (first_run / "run", shared_run):
        (folder / "command_started").write_text(str(started))
    checkpoint = shared_run / "lightning_checkpoints" / "step0000004.ckpt"
    os.utime(checkpoint, (started + 90, started + 90))
    status = load_script("quality_vs_steps").main([
        "--style-config", "starry_night", "--minutes", "--run", f"one={first_run / 'run'}", "--run", f"shared={shared_run}",
        "--images", str(photos), "--limit", "1", "--size", "32", "--iters", "2", "--output", str(tmp_path / "out"),
        "--curves", str(tmp_path / "curves"),
    ])
    assert status == 0
    raw = json.loads((tmp_path / "out" / "n_star.json").read_text())
    assert set(raw) == {"one", "shared"}
    assert [row["steps"] for row in raw["shared"]] == [2, 4]
    assert abs(raw["shared"][-1]["minutes"] - 1.5) < 0.01
    assert (tmp_path / "out" / "n_star_vs_minutes.png").is_file()
    # Without the start time there are no minutes to plot: one clear error.
    (shared_run / "command_started").unlink()
    assert load_script("quality_vs_steps").main([
        "--style-config", "starry_night", "--minutes", "--run", f"shared={shared_run}", "--images", str(photos),
        "--limit", "1", "--size", "32", "--iters", "2", "--output", str(tmp_path / "out2"),
        "--curves", str(tmp_path / "curves")]) == 2
