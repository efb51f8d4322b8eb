"""Faults during training and writing: nothing lost, nothing half-written under a final name, one clear error.

Issue #19's cases for the training side: a stop (crash, Ctrl-C) leaves a checkpoint named by its
step that no later stop replaces; a resume from a file that is not there fails before anything
is built and names the checkpoints that exist; ``ckpt_path=last`` takes the newest readable one;
a full disk while Lightning or the slim writer saves leaves the earlier file whole and says so.
"""

from __future__ import annotations

import errno
import signal
import subprocess
from pathlib import Path

import pytest
import torch

import fast_style.checkpoint as checkpoint_module
from fast_style.atomic import WriteError, atomic_path, partial_name
from fast_style.checkpoint import CheckpointError, atomic_torch_save, read_checkpoint
from fast_style.errors import FastStyleError
from fast_style.train.module import StyleTransferModule
from fast_style.train.resume import resolve_resume_path
from fast_style.train.run import train

# Five steps (checkpoints at 2 and 4) of the debug run, without logger or previews.
FIVE_STEPS = ("trainer.max_steps=5", "~logger", "~callbacks.previews")


def fail_at_step(monkeypatch: pytest.MonkeyPatch, step: int, exception: BaseException) -> None:
    """Make the training step ``step`` (1-based) raise ``exception``."""
    original = StyleTransferModule.training_step

    def training_step(self, batch, batch_idx):
        if self.trainer.global_step + 1 == step:
            raise exception
        return original(self, batch, batch_idx)

    monkeypatch.setattr(StyleTransferModule, "training_step", training_step)


def half_then_enospc(payload, file) -> None:
    """A ``torch.save`` on a disk that fills up part-way."""
    file.write(b"half a checkpoint")
    raise OSError(errno.ENOSPC, "No space left on device")


def test_a_crash_leaves_a_step_named_checkpoint_that_a_failed_resume_keeps(train_config, tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "first"
    fail_at_step(monkeypatch, 4, RuntimeError("the machine fell over"))
    with pytest.raises(RuntimeError, match="fell over"):
        train(train_config(*FIVE_STEPS), run_dir)
    saved = run_dir / "lightning_checkpoints"
    crash = saved / "on_exception_step0000003.ckpt"
    assert torch.load(crash, weights_only=False)["global_step"] == 3
    before = crash.read_bytes()
    monkeypatch.undo()
    # The README's path of a run that never reached its last save: refused before anything is built,
    # naming what exists; the crash checkpoint is untouched (the bug was: step 3 overwritten by step 0).
    missing = saved / "last.ckpt.old"
    listed = r"does not exist; checkpoints of earlier runs, newest first: .*on_exception_step0000003"
    with pytest.raises(FastStyleError, match=listed):
        train(train_config(*FIVE_STEPS, f"ckpt_path={missing}"), tmp_path / "runs" / "second")
    assert crash.read_bytes() == before and not (tmp_path / "runs" / "second").exists()
    # ckpt_path=last takes the newest readable checkpoint of the style's runs and goes on to the end.
    path = train(train_config(*FIVE_STEPS, "ckpt_path=last"), tmp_path / "runs" / "third")
    assert read_checkpoint(path).meta["global_step"] == 5 and crash.read_bytes() == before


def test_ctrl_c_leaves_its_checkpoint_and_nothing_is_written_before_training_started(train_config, tmp_path, monkeypatch):
    handler = signal.getsignal(signal.SIGINT)
    try:
        fail_at_step(monkeypatch, 3, KeyboardInterrupt())
        with pytest.raises(SystemExit):  # Lightning's graceful shutdown on Ctrl-C ends with exit 1
            train(train_config(*FIVE_STEPS), tmp_path / "runs" / "a")
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores further Ctrl-C from then on
    assert [p.name for p in (tmp_path / "runs" / "a" / "lightning_checkpoints").glob("on_exception*")] == [
        "on_exception_step0000002.ckpt"]
    fail_at_step(monkeypatch, 1, RuntimeError("broken before the first step"))
    with pytest.raises(RuntimeError, match="broken before"):
        train(train_config(*FIVE_STEPS), tmp_path / "runs" / "b")
    assert not list((tmp_path / "runs" / "b").glob("lightning_checkpoints/*.ckpt"))  # step 0: nothing to keep


def test_a_full_disk_during_a_lightning_save_keeps_the_earlier_checkpoint(train_config, tmp_path, monkeypatch):
    run_dir = tmp_path / "runs" / "full"
    original, calls = torch.save, []

    def save(payload, file):
        calls.append(payload.get("global_step"))
        if payload.get("global_step") == 4:
            return half_then_enospc(payload, file)
        return original(payload, file)

    monkeypatch.setattr(checkpoint_module.torch, "save", save)
    with pytest.raises(WriteError, match=r"^cannot write .*(last|step0000004).ckpt.: no space left"):
        train(train_config(*FIVE_STEPS), run_dir)
    monkeypatch.undo()
    saved = run_dir / "lightning_checkpoints"
    assert 4 in calls
    names = sorted(p.name for p in saved.iterdir())
    assert all(not name.startswith(".") for name in names), names  # no temporary file left behind
    for name in names:  # whatever is there loads whole
        assert torch.load(saved / name, weights_only=False)["global_step"] == 2


def test_the_slim_writer_reports_a_full_disk_and_keeps_the_old_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "candy.pth"
    atomic_torch_save({"v": torch.ones(3)}, target)
    before = target.read_bytes()
    monkeypatch.setattr(checkpoint_module.torch, "save", half_then_enospc)
    with pytest.raises(WriteError, match=r"cannot write .*candy.pth.*no space left on the device \(.* MB free\)"):
        atomic_torch_save({"v": torch.zeros(3)}, target)
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["candy.pth"]


def test_a_real_full_disk_is_reported_as_such(tmp_path: Path):
    # A 1 MB tmpfs where this process may mount one (root, as in CI); otherwise the ENOSPC is simulated above.
    mount = tmp_path / "small"
    mount.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(mount)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({mounted.stderr.decode().strip()}); the simulated ENOSPC covers it")
    try:
        target = mount / "net.pth"
        atomic_torch_save({"v": torch.ones(10)}, target)
        before = target.read_bytes()
        with pytest.raises(WriteError, match="no space left on the device"):
            atomic_torch_save({"v": torch.zeros(1_000_000)}, target)
        assert target.read_bytes() == before and [p.name for p in mount.iterdir()] == ["net.pth"]
    finally:
        subprocess.run(["umount", str(mount)], check=False)


def test_temporary_names_are_unique_beside_the_target_and_clean_up_never_hides_the_error(tmp_path: Path, monkeypatch):
    target = tmp_path / "out.png"
    first, second = partial_name(target), partial_name(target)
    assert first != second and first.parent == second.parent == tmp_path and first.name.startswith(".out.png.")

    def read_only(self, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(Path, "replace", read_only)
    monkeypatch.setattr(Path, "unlink", read_only)
    with pytest.raises(WriteError, match="out.png.*the file system is read-only"):
        with atomic_path(target) as partial:
            partial.write_bytes(b"image")


def test_resume_paths_are_checked(tmp_path: Path, tiny_checkpoint: Path):
    assert resolve_resume_path(None, tmp_path) is None
    with pytest.raises(FastStyleError, match="no readable Lightning checkpoint .*no checkpoints of earlier runs"):
        resolve_resume_path("last", tmp_path)
    with pytest.raises(CheckpointError, match="slim inference checkpoint; resuming needs a Lightning .ckpt"):
        resolve_resume_path(tiny_checkpoint, tmp_path)
    # ckpt_path=last skips a newest file that is truncated and takes the next one.
    folder = tmp_path / "run1" / "lightning_checkpoints"
    folder.mkdir(parents=True)
    good = folder / "step0000002.ckpt"
    torch.save({"state_dict": {"model.w": torch.ones(1)}, "hyper_parameters": {"model": {}}, "global_step": 2}, good)
    broken = folder / "last.ckpt"
    broken.write_bytes(good.read_bytes()[:100])
    assert resolve_resume_path("last", tmp_path) == good


@pytest.mark.parametrize("change, message", [
    (lambda p: p.update(model_args={**p["model_args"], "width": 100_000}), r"width must be an integer from 1 to 256"),
    (lambda p: p.update(model_args={**p["model_args"], "width": 64}), r"weights differ at"),
    (lambda p: p.update(model_args=None), r"model_args must be a mapping, got NoneType"),
    (lambda p: p.update(state_dict=list(p["state_dict"].values())), r"state_dict must be a mapping, got list"),
    (lambda p: p["state_dict"].update({"stem.1.weight": [1.0, 2.0]}), r"state_dict entry 'stem.1.weight' is a list"),
    (lambda p: p.update(model_args={**p["model_args"], "width": "wide"}), r"width must be an integer from 1 to 256, got 'w"),
])
def test_hostile_checkpoints_are_refused_naming_the_file_before_any_allocation(tiny_checkpoint: Path, tmp_path: Path,
                                                                               change, message):
    from fast_style.checkpoint import model_from_checkpoint

    payload = torch.load(tiny_checkpoint, weights_only=True)
    change(payload)
    hostile = tmp_path / "hostile.pth"
    torch.save(payload, hostile)
    with pytest.raises(CheckpointError, match=rf"hostile.pth.*{message}"):
        model_from_checkpoint(read_checkpoint(hostile))


def test_a_lightning_checkpoint_whose_model_is_not_a_mapping_is_refused(tmp_path: Path):
    path = tmp_path / "odd.ckpt"
    torch.save({"state_dict": {"model.w": torch.ones(1)}, "hyper_parameters": {"model": [4, 1]}}, path)
    with pytest.raises(CheckpointError, match=r"odd.ckpt.*hyper_parameters.model must be a mapping, got list"):
        read_checkpoint(path)


def test_max_pixels_can_be_raised_above_pillows_own_limit(tmp_path: Path, monkeypatch):
    from PIL import Image

    import fast_style.io as io

    path = tmp_path / "wide.png"
    Image.new("RGB", (300, 200), "red").save(path)
    # Pillow's limit below the image: ours (the caller's) decides, both ways, and Pillow's is restored.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    assert io.read_photo(path, max_pixels=60_000).size == (300, 200)
    with pytest.raises(io.ImageReadError, match="60,000 pixels, above the decompression-bomb limit of 59,999"):
        io.read_photo(path, max_pixels=59_999)
    assert Image.MAX_IMAGE_PIXELS == 1000


def test_an_animated_gif_is_used_by_its_first_frame_with_a_warning(tmp_path: Path):
    from PIL import Image

    import fast_style.io as io

    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (16, 16), colour) for colour in ("red", "blue", "green")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    with pytest.warns(io.FirstFrameOnlyWarning, match="anim.gif' has 3 frames; only the first is used"):
        photo = io.read_photo(path)
    assert photo.rgb[0].mean() > 0.9 and photo.rgb[2].mean() < 0.1  # red: the first frame


def test_an_export_that_fails_its_parity_check_leaves_no_file(tiny_model, tmp_path: Path, monkeypatch):
    import fast_style.infer.export as export

    # TorchScript: the refusal is the same code for both formats, and ONNX's export is the slow one
    # (its single self-contained file is checked in test_export).
    target = tmp_path / "net.pt"
    assert export.export_checked(tiny_model, target, "torchscript") <= 1e-4
    assert [p.name for p in tmp_path.iterdir()] == ["net.pt"]
    before = target.read_bytes()
    monkeypatch.setattr(export, "parity", lambda *args, **kwargs: 0.5)
    with pytest.raises(export.ParityError, match=r"differs from the network by 5.00e-01.*was not written") as caught:
        export.export_checked(tiny_model, target, "torchscript")
    assert caught.value.exit_code == 1
    assert target.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["net.pt"]


def test_an_export_checks_its_extension_and_the_free_space_before_writing(tiny_model, tmp_path: Path, monkeypatch):
    import shutil

    import fast_style.infer.export as export

    with pytest.raises(ValueError, match=r"net.pt' names a torchscript file, not onnx"):
        export.export_checked(tiny_model, tmp_path / "net.pt", "onnx")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10, 10, 1000))
    with pytest.raises(WriteError, match=r"no space left on the device \(0.0 MB free, the export needs about"):
        export.export_checked(tiny_model, tmp_path / "net.onnx", "onnx")
    assert list(tmp_path.iterdir()) == []


def test_a_bad_optimizer_setting_is_one_clear_error_before_training(train_config, tmp_path: Path):
    with pytest.raises(FastStyleError, match=r"optimizer settings \{'lr': 'abc'\} are not usable: .*optimizer.lr=1e-3"):
        train(train_config("optimizer.lr=abc"), tmp_path / "runs" / "lr")
    assert not (tmp_path / "runs" / "lr").exists()


def test_the_cli_stylizes_an_animated_gif_by_its_first_frame_and_says_so_in_one_line(tmp_path: Path, tiny_checkpoint,
                                                                                    capsys):
    from PIL import Image

    from fast_style.infer.stylize_cli import main

    path = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (40, 40), colour) for colour in ("red", "blue")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=50)
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(path), "--output", str(tmp_path / "out")]) == 0
    err = capsys.readouterr().err
    assert "warning: " in err and "anim.gif' has 2 frames; only the first is used" in err and "Warning:" not in err
    assert len(list((tmp_path / "out").iterdir())) == 1


def test_a_network_whose_output_is_not_finite_writes_nothing(tiny_checkpoint: Path, tmp_path: Path, capsys):
    from PIL import Image

    from fast_style.infer.stylize import NonFiniteOutputError, load_model, stylize
    from fast_style.infer.stylize_cli import main

    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["state_dict"] = {k: v * 1e30 if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    huge = tmp_path / "huge.pth"
    torch.save(payload, huge)  # finite weights, so the loader takes them; the output overflows
    with pytest.raises(NonFiniteOutputError, match="output has NaN/inf values"):
        stylize(load_model(huge), torch.rand(1, 3, 24, 24))
    photo = tmp_path / "photo.png"
    Image.new("RGB", (24, 24), "red").save(photo)
    assert main(["--ckpt", str(huge), "--input", str(photo), "--output", str(tmp_path / "out.png")]) in (1, 2)
    assert "output has NaN/inf values" in capsys.readouterr().err and not (tmp_path / "out.png").exists()


@pytest.mark.parametrize("style", ["../../../../x", "a/b", "x.pth", "", "candy small"])
def test_zoo_add_refuses_a_style_that_is_not_a_plain_name(tiny_model, tmp_path: Path, style):
    from fast_style.checkpoint import save_inference_checkpoint
    from fast_style.zoo import add_to_zoo

    zoo = tmp_path / "deep" / "zoo"
    zoo.mkdir(parents=True)
    hostile = save_inference_checkpoint(tiny_model, tmp_path / "hostile.pth", style=style, config={})
    with pytest.raises(FastStyleError, match="a zoo name is letters, digits and _"):
        add_to_zoo(hostile, zoo)
    assert list(zoo.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["deep", "hostile.pth"]


def test_a_zoo_add_refused_as_too_large_leaves_the_shipped_file_as_it_was(tiny_checkpoint: Path, tmp_path: Path,
                                                                         monkeypatch):
    import fast_style.zoo.add as zoo_module

    zoo = tmp_path / "zoo"
    shipped = zoo_module.add_to_zoo(tiny_checkpoint, zoo)
    before, index = shipped.read_bytes(), (zoo / "index.json").read_bytes()
    monkeypatch.setattr(zoo_module, "MAX_ZOO_BYTES", 100)
    with pytest.raises(FastStyleError, match="the zoo allows"):
        zoo_module.add_to_zoo(tiny_checkpoint, zoo, note="a second try", replace=True)
    assert shipped.read_bytes() == before and (zoo / "index.json").read_bytes() == index
    assert sorted(p.name for p in zoo.iterdir()) == ["index.json", "tiny.pth"]


def test_a_recursive_glob_over_a_symlink_loop_finds_each_photo_once(tmp_path: Path):
    from PIL import Image

    from fast_style.infer.stylize_cli import collect_inputs

    deep = tmp_path / "photos" / "a" / "b"
    deep.mkdir(parents=True)
    (deep / "up").symlink_to("..")  # a loop that glob.glob(recursive=True) follows without end
    (deep / "up2").symlink_to("../..")
    for path in (tmp_path / "photos" / "a" / "x.png", deep / "y.png"):
        Image.new("RGB", (8, 8)).save(path)
    found, errors = collect_inputs([str(tmp_path / "photos" / "**" / "*.png")], recursive=False)
    assert sorted(source.name for source, _ in found) == ["x.png", "y.png"] and errors == []
    found, errors = collect_inputs([str(tmp_path / "photos" / "*" / "x.png"), "nothing/**/*.png"], recursive=False)
    assert [source.name for source, _ in found] == ["x.png"] and errors == ["nothing/**/*.png: the pattern matches no file"]


@pytest.mark.parametrize("option", [["--start", "nan"], ["--start", "inf"], ["--duration", "nan"], ["--duration", "0"]])
def test_a_video_time_range_that_is_no_time_is_a_usage_error(tmp_path: Path, capsys, option):
    pytest.importorskip("av")
    from fast_style.infer.video_cli import main

    clip = tmp_path / "in.mp4"
    clip.write_bytes(b"never read")
    assert main(["--style", "candy", "--input", str(clip), "--output", str(tmp_path / "out.mp4"), *option]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: start must be a finite number >= 0") and len(err.splitlines()) == 1
    assert not (tmp_path / "out.mp4").exists()


def test_a_truncated_video_keeps_what_decoded_warns_and_exits_1(tmp_path: Path, tiny_checkpoint: Path, capsys):
    av = pytest.importorskip("av")
    from PIL import Image

    from fast_style.infer.video_cli import main
    from tests.clips import make_clip

    photos = []
    for index, colour in enumerate(("red", "blue")):
        photos.append(tmp_path / f"p{index}.png")
        Image.new("RGB", (120, 90), colour).save(photos[-1])
    whole = make_clip(photos, tmp_path / "whole.mkv", width=64, height=48, fps=8, seconds_per_shot=2.0, tone_hz=None)
    cut = tmp_path / "cut.mkv"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size * 8 // 10])  # a download cut short
    output = tmp_path / "out.mkv"
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(cut), "--output", str(output), "--quiet"]) == 1
    warning = capsys.readouterr().err.strip().splitlines()[-1]
    assert warning.startswith("warning: decoded ") and "of the 32 frames the input announces" in warning
    with av.open(str(output)) as container:
        written = sum(1 for _ in container.decode(video=0))
    assert 0 < written < 32 and f"decoded {written} of" in warning


def test_compare_and_gatys_refuse_an_unwritable_output_and_a_bad_photo_before_any_work(tmp_path: Path, capsys,
                                                                                       monkeypatch):
    from PIL import Image

    import fast_style.baseline.compare as compare
    from fast_style.baseline.compare_cli import main as compare_main
    from tests.helpers import load_script

    def never(*args, **kwargs):
        raise AssertionError("the comparison ran")

    monkeypatch.setattr(compare, "run_comparison", never)
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    photos = tmp_path / "photos"
    photos.mkdir()
    Image.new("RGB", (32, 32)).save(photos / "good.png")
    (photos / "bad.png").write_text("not an image")
    common = ["--style", "candy", "--images", str(photos), "--iters", "1", "--sizes", "32", "--vgg-weights", "random"]
    assert compare_main([*common, "--output", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot write" in err and "a part of the path is a file, not a folder" in err
    assert compare_main([*common, "--output", str(tmp_path / "out")]) == 2
    assert "bad.png" in capsys.readouterr().err.strip().splitlines()[-1]
    good = str(photos / "good.png")
    status = load_script("gatys").main(["--content", good, "--style-image", good, "--iters", "1", "--size", "32",
                                        "--vgg-weights", "random", "--output", str(blocker / "x.png")])
    assert status == 2 and capsys.readouterr().err.startswith("error: ")


def test_sigterm_in_any_command_leaves_no_temporary_file_and_exits_130(tmp_path: Path, capsys):
    import os

    from fast_style.cli import EXIT_INTERRUPTED, run

    target = tmp_path / "out.png"

    def main(argv):
        with atomic_path(target) as partial:
            partial.write_bytes(b"half an image")
            os.kill(os.getpid(), signal.SIGTERM)  # as `kill` or a service manager would
            partial.write_bytes(b"never reached")

    before = signal.getsignal(signal.SIGTERM)
    assert run(main, []) == EXIT_INTERRUPTED and "interrupted" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == [] and signal.getsignal(signal.SIGTERM) is before
