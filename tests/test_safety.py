"""Never hand a user a broken model, never hide a failure: divergence, checked weights, atomic writes, kill/resume."""

from __future__ import annotations

import signal
import tempfile
import time
from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.atomic import atomic_path
from fast_style.checkpoint import CheckpointError, save_inference_checkpoint
from fast_style.infer.stylize import load_model
from fast_style.infer.stylize_cli import main as stylize_main
from fast_style.models import TransformerNet
from fast_style.train.callbacks import DivergenceGuard, TrainingDivergedError
from fast_style.train.run import train
from tests.helpers import TINY_MODEL_ARGS, events, load_script, run_train_script

# The loss terms and gradients blow up within a few steps: a huge learning rate, no sigmoid to bound the output.
DIVERGING = ["optimizer.lr=1e4", "model.output_activation=none", "trainer.max_steps=60"]


class _Trainer:
    global_step = 7
    precision = "32-true"


def test_guard_names_the_step_and_the_broken_term():
    terms = {"content": torch.tensor(1.0), "style": torch.tensor(float("nan")), "tv": torch.tensor(0.0),
             "total": torch.tensor(float("nan"))}
    with pytest.raises(TrainingDivergedError, match="step 7: the style loss is nan; try a lower optimizer.lr"):
        DivergenceGuard().on_train_batch_end(_Trainer(), None, {"loss": terms["total"], "terms": terms}, None, 0)
    finite = {name: torch.tensor(1.0) for name in terms}
    DivergenceGuard().on_train_batch_end(_Trainer(), None, {"loss": finite["total"], "terms": finite}, None, 0)


def test_guard_stops_before_a_non_finite_gradient_reaches_the_weights():
    model = TransformerNet(**TINY_MODEL_ARGS)
    for parameter in model.parameters():
        parameter.grad = torch.zeros_like(parameter)
    DivergenceGuard().on_before_optimizer_step(_Trainer(), model, None)
    list(model.parameters())[-1].grad.view(-1)[0] = float("inf")
    with pytest.raises(TrainingDivergedError, match="step 8: the gradient of .* is not finite"):
        DivergenceGuard().on_before_optimizer_step(_Trainer(), model, None)
    fp16 = _Trainer()
    fp16.precision = "16-mixed"  # the gradient scaler skips such steps by itself
    DivergenceGuard().on_before_optimizer_step(fp16, model, None)


def test_a_diverging_run_stops_and_writes_no_model(train_config, tmp_path: Path):
    config = train_config("style=candy", *DIVERGING, "~logger", "callbacks.previews.every_n_steps=0")
    with pytest.raises(TrainingDivergedError, match="step .*: the .* (loss is|of .* is not finite).*optimizer.lr"):
        train(config, tmp_path / "run")
    assert not (tmp_path / "ckpt" / "candy.pth").exists()
    saved = tmp_path / "run" / "lightning_checkpoints"
    assert not (saved / "on_exception.ckpt").exists()
    for ckpt in saved.glob("*.ckpt"):  # whatever was kept before the divergence is good
        state = torch.load(ckpt, weights_only=False)["state_dict"]
        assert all(torch.isfinite(value).all() for value in state.values() if value.is_floating_point()), ckpt


def _train_script(tmp_path: Path, *overrides: str) -> int:
    """scripts/train.py's ``main`` in-process (@hydra.main reads sys.argv): its exit status."""
    argv = ["train.py", "debug=default", f"hydra.run.dir={tmp_path / 'run'}", f"checkpoint_dir={tmp_path / 'ckpt'}",
            "hydra/job_logging=disabled", "hydra/hydra_logging=disabled", *overrides]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.argv", argv)
        with pytest.raises(SystemExit) as leaving:
            load_script("train").main()
    return leaving.value.code


@pytest.mark.parametrize("override, message", [
    ("trainer.max_steps=0", "trainer.max_steps must be a positive"),
    ("data.num_workers=-1", "num_workers must be >= 0"),
    ("style.image=NOT_AN_IMAGE", "is not a readable image"),
    ("data.train_dir=NOWHERE", "does not exist"),
    ("ckpt_path=NOWHERE", "does not exist (no checkpoints of earlier runs were found); ckpt_path=last takes"),
])
def test_the_script_stops_at_a_bad_setting_with_one_line_and_status_2(
    override: str, message: str, tmp_path: Path, assets_dir: Path, capsys: pytest.CaptureFixture,
):
    not_an_image = tmp_path / "style.jpg"
    not_an_image.write_text("this is text")
    override = override.replace("NOT_AN_IMAGE", str(not_an_image)).replace("NOWHERE", str(tmp_path / "nowhere"))
    assert _train_script(tmp_path, override) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "ckpt").exists()


def test_the_script_reports_a_divergence_with_status_1_and_where_to_resume(
    tmp_path: Path, photo_dir: Path, assets_dir: Path, capsys: pytest.CaptureFixture,
):
    status = _train_script(tmp_path, "style=candy", *DIVERGING, f"data.train_dir={photo_dir}", f"data.val_dir={photo_dir}")
    assert status == 1
    last_line = capsys.readouterr().err.strip().splitlines()[-1]
    assert "training diverged at step" in last_line and "optimizer.lr" in last_line
    assert "resume from the last good one with ckpt_path=last" in last_line
    assert not (tmp_path / "ckpt" / "candy.pth").exists()


def test_no_slim_checkpoint_with_non_finite_weights(tiny_model, tmp_path: Path):
    with torch.no_grad():
        next(iter(tiny_model.parameters()))[0] = float("nan")
    with pytest.raises(ValueError, match="has NaN/inf values"):
        save_inference_checkpoint(tiny_model, tmp_path / "broken.pth", style="broken")
    assert list(tmp_path.iterdir()) == []


def test_load_model_and_the_cli_refuse_a_network_with_one_nan_weight(tiny_checkpoint: Path, tmp_path: Path,
                                                                       capsys: pytest.CaptureFixture):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    key = sorted(payload["state_dict"])[3]
    payload["state_dict"][key].view(-1)[0] = float("nan")
    broken = tmp_path / "broken.pth"
    torch.save(payload, broken)
    with pytest.raises(CheckpointError, match=f"{key!r} has NaN/inf"):
        load_model(broken)
    photo = tmp_path / "p.png"
    Image.new("RGB", (20, 20)).save(photo)
    assert stylize_main(["--ckpt", str(broken), "--input", str(photo), "--output", str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err
    assert "broken.pth" in err and key in err and not (tmp_path / "o.png").exists()


def test_a_foreign_pickle_gets_a_short_reason(tmp_path: Path, capsys: pytest.CaptureFixture):
    foreign = tmp_path / "foreign.pth"
    torch.save({"model_args": {}, "state_dict": {}, "extra": Path}, foreign)  # a class: not weights-only
    with pytest.raises(CheckpointError) as caught:
        load_model(foreign)
    message = str(caught.value)
    assert "weights_only=True" in message and "Please file an issue" not in message
    assert len(message.splitlines()) == 1 and len(message) < 400


def test_state_dict_that_does_not_fit_model_args_is_refused(tiny_checkpoint: Path, tmp_path: Path):
    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["model_args"] = {**payload["model_args"], "width": 8}
    wrong = tmp_path / "wrong.pth"
    torch.save(payload, wrong)
    with pytest.raises(CheckpointError, match="wrong.pth.*does not hold a network matching its model_args"):
        load_model(wrong)


def test_atomic_path_leaves_nothing_under_the_final_name_on_failure(tmp_path: Path):
    target = tmp_path / "out" / "image.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as partial:
            partial.write_bytes(b"half")
            raise RuntimeError("killed")
    assert not target.exists() and list(target.parent.iterdir()) == []
    with atomic_path(target) as partial:
        partial.write_bytes(b"whole")
    assert target.read_bytes() == b"whole" and [p.name for p in target.parent.iterdir()] == ["image.png"]


def test_resume_still_checks_the_networks_keys(tiny_model):
    from fast_style.train.module import StyleTransferModule

    module = StyleTransferModule("tiny", loss={"style_image": "styles/candy.jpg", "vgg": {"weights": "random"},
                                               "style_size": 32}, model=TINY_MODEL_ARGS)
    saved = {"state_dict": dict(module.state_dict())}
    module.on_save_checkpoint(saved)
    assert not any(key.startswith("loss_fn.") for key in saved["state_dict"])
    module.on_load_checkpoint(saved)
    module.load_state_dict(saved["state_dict"], strict=module.strict_loading)  # VGG restored, all keys there
    broken = {"state_dict": {k: v for k, v in saved["state_dict"].items() if not k.startswith("model.head")}}
    broken["state_dict"] = {k: v for k, v in broken["state_dict"].items() if not k.startswith("loss_fn.")}
    module.on_load_checkpoint(broken)
    with pytest.raises(RuntimeError, match="Missing key"):
        module.load_state_dict(broken["state_dict"], strict=module.strict_loading)


def test_onnxruntime_backend_leaves_no_temporary_folder(tiny_model, reused_exports, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("onnxruntime", reason="the 'onnx' extra is installed by make test")
    from fast_style.infer.stylize_cli import build_backend

    # A temporary folder of its own: other processes (another test worker, another user) use the system's.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    runner = build_backend(tiny_model, "onnxruntime", torch.device("cpu"))
    assert list(tmp_path.iterdir()) == []
    assert runner(torch.rand(1, 3, 20, 24)).shape == (1, 3, 20, 24)


def test_sigkill_mid_run_then_resume_reaches_the_final_step(train_config, tmp_path: Path, photo_dir: Path):
    # The kill needs a process of its own; the resume runs in-process.
    run_dir, every = tmp_path / "run", 3
    data = [f"data.train_dir={photo_dir}", f"data.val_dir={photo_dir}", "callbacks.previews.every_n_steps=0"]
    process = run_train_script("debug=default", "style=candy", *data, "~logger", "trainer.max_steps=100000",
                               f"callbacks.model_checkpoint.every_n_train_steps={every}",
                               f"checkpoint_dir={tmp_path / 'ckpt'}", f"hydra.run.dir={run_dir}", popen=True)
    saved = run_dir / "lightning_checkpoints"

    def latest_saved_step() -> int:
        return max((int(path.stem[4:]) for path in saved.glob("step*.ckpt")), default=-1)

    # Wait for a third step file: last.ckpt may trail the newest one by an interval (below), so this is
    # what guarantees the kill lands after at least two saves that last.ckpt has caught up with.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None and latest_saved_step() < 3 * every:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = int(torch.load(saved / "last.ckpt", weights_only=False)["global_step"])
    # last.ckpt is written just after each periodic save, so a kill between the two leaves it one
    # interval behind the newest step file (seen in CI): at most one save interval of work is lost.
    assert killed_at % every == 0 and latest_saved_step() - every <= killed_at <= latest_saved_step()
    assert killed_at >= 2 * every
    config = train_config("style=candy", *data, f"trainer.max_steps={killed_at + 4}",
                          f"callbacks.model_checkpoint.every_n_train_steps={every}", f"ckpt_path={saved / 'last.ckpt'}")
    train(config, tmp_path / "resumed")
    payload = torch.load(tmp_path / "ckpt" / "candy.pth", weights_only=True)
    assert payload["training"]["steps"] == killed_at + 4
    steps = [event.step for event in events(tmp_path / "resumed").Scalars("train/total")]
    assert sorted(steps) == list(range(killed_at, killed_at + 4))  # only the steps after the kill were trained
