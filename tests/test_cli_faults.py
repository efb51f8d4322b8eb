"""User mistakes and hostile surroundings in the commands: one line ``error: ...``, the README's exit code, no work wasted.

Issue #32, items 7 and 8 (exit codes checked before the work, and the small ones): a read-only
output folder or a full disk, bad option values of ``stylize_video.py`` and ``export.py``, a FIFO
given as a photo, the clash message of ``--recursive``. Every command runs in-process through its
``main(argv)``; the faults are simulated where a real one needs privileges (a read-only mount).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path

import pytest
from PIL import Image

import fast_style.infer.stylize_cli as stylize_cli


def _one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: "), lines
    return lines[0]


def _read_only_folder(folder: Path, monkeypatch) -> Path:
    """``folder`` as on a read-only file system: writing a file into it fails with EROFS (root ignores chmod)."""
    real_write = Path.write_bytes

    def read_only(self: Path, data: bytes) -> int:
        if self.parent == folder:
            raise OSError(errno.EROFS, "Read-only file system")
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", read_only)
    return folder


def _never_stylize(*args, **kwargs):
    raise AssertionError("the network ran although the command should have stopped before")


def test_a_read_only_output_folder_is_refused_before_the_network_runs(tiny_checkpoint: Path, photo_dir: Path,
                                                                      tmp_path: Path, monkeypatch, capsys) -> None:
    out = _read_only_folder(tmp_path / "locked", monkeypatch)
    monkeypatch.setattr(stylize_cli, "stylize", _never_stylize)
    status = stylize_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(out)])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 2
    assert "locked" in line and "read-only" in line and line.count("cannot write") == 1



def test_a_full_disk_is_refused_before_the_network_runs(tiny_checkpoint: Path, photo_dir: Path, tmp_path: Path,
                                                         monkeypatch, capsys) -> None:
    import shutil

    import fast_style.atomic as atomic

    real_usage = shutil.disk_usage
    # An empty probe file still fits on a full disk: the free space is what tells (here: 100 bytes left).
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda path: real_usage(path)._replace(free=100))
    monkeypatch.setattr(stylize_cli, "stylize", _never_stylize)
    out = tmp_path / "full"
    status = stylize_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(out)])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 2 and line.startswith(f"error: cannot write {str(out)!r}: no space left on the device")
    assert list(out.iterdir()) == []

def test_a_disk_that_fills_up_midway_is_one_line_and_keeps_whole_files(tiny_checkpoint: Path, photo_dir: Path,
                                                                       tmp_path: Path, monkeypatch, capsys) -> None:
    out = tmp_path / "out"
    real_save, saves = Image.Image.save, []

    def save(self, fp, *args, **kwargs):
        saves.append(fp)
        if len(saves) == 3:
            Path(fp).write_bytes(b"half an image")
            raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(self, fp, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    status = stylize_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(out),
                               "--quiet"])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 2 and len(saves) == 3  # stopped at the first failed write, not once per photo
    assert "no space left on the device" in line and line.count("cannot write") == 1
    written = sorted(out.iterdir())
    assert len(written) == 2 and all(not p.name.startswith(".") for p in written)
    for path in written:
        with Image.open(path) as image:
            image.load()


def test_a_fifo_is_named_as_such(tiny_checkpoint: Path, tmp_path: Path, capsys) -> None:
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    status = stylize_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(fifo), "--output", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 2
    assert "pipe.png: a FIFO (named pipe), not an image file or folder" in err and "no such file" not in err


def test_the_recursive_clash_names_the_input_that_would_be_lost(tiny_checkpoint: Path, tmp_path: Path,
                                                               capsys) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    for path in (root / "x.png", root / "sub" / "x.png"):
        Image.new("RGB", (20, 20), "red").save(path)
    status = stylize_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(root), "--recursive",
                               "--output", str(root / "sub")])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 2
    lost, stylised = str(root / "sub" / "x.png"), str(root / "x.png")
    assert line.endswith(f"(the result of {stylised!r}) would overwrite the input {lost!r}; choose another --output")


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--batch-size", "0"], "batch_size must be at least 1, got 0"),
        (["--crf", "99"], r"crf must be an integer in \[0, 51\].*got 99"),
        (["--cut-threshold", "nan"], "cut_threshold must be a number >= 0.*got nan"),
        (["--max-size", "0"], r"max_size must be at least \d+ pixels, got 0"),
        (["--input", "NOSUCH.mp4"], "--input 'NOSUCH.mp4' does not exist"),
    ],
)
def test_video_options_are_checked_before_the_network_loads(tiny_checkpoint: Path, tmp_path: Path, monkeypatch,
                                                           capsys, extra: list[str], match: str) -> None:
    import fast_style.infer.video_cli as video_cli

    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the options fail first")
    monkeypatch.setattr(video_cli, "load_model", _never_stylize)
    status = video_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(clip), "--output",
                             str(tmp_path / "out" / "o.mp4"), *extra])
    assert status == 2
    assert re.search(match, _one_error_line(capsys.readouterr().err))
    assert not (tmp_path / "out").exists()


def test_a_fifo_given_as_a_video_is_named_as_such(tiny_checkpoint: Path, tmp_path: Path, capsys) -> None:
    from fast_style.infer.video_cli import main

    os.mkfifo(tmp_path / "pipe.mp4")
    status = main(["--ckpt", str(tiny_checkpoint), "--input", str(tmp_path / "pipe.mp4"), "--output",
                   str(tmp_path / "o.mp4")])
    assert status == 2
    assert "is a FIFO (named pipe), not a regular file" in _one_error_line(capsys.readouterr().err)


@pytest.mark.parametrize("tolerance", ["-1", "nan", "inf"])
def test_export_refuses_a_bad_tolerance_before_exporting(tiny_checkpoint: Path, tmp_path: Path, monkeypatch, capsys,
                                                         tolerance: str) -> None:
    import fast_style.infer.export_cli as export_cli

    monkeypatch.setattr(export_cli, "export_checked", _never_stylize)
    status = export_cli.main(["--ckpt", str(tiny_checkpoint), "--format", "onnx", "--output",
                              str(tmp_path / "m.onnx"), "--tolerance", tolerance])
    assert status == 2
    assert f"--tolerance must be a finite number >= 0 (e.g. 1e-4), got {tolerance}" in _one_error_line(
        capsys.readouterr().err)


def test_a_read_only_video_folder_is_refused_before_the_first_frame(tiny_checkpoint: Path, tmp_path: Path,
                                                                   monkeypatch, capsys) -> None:
    import fast_style.infer.video_cli as video_cli

    out, clip = _read_only_folder(tmp_path / "locked", monkeypatch), tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the folder fails first")
    monkeypatch.setattr(video_cli, "stylize_video", _never_stylize)
    monkeypatch.setattr(video_cli, "expected_frames", _never_stylize)
    status = video_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(clip), "--output", str(out / "o.mp4")])
    assert status == 2 and "the file system is read-only" in _one_error_line(capsys.readouterr().err)


def test_huge_blend_weights_are_normalised_without_overflow() -> None:
    from fast_style.zoo.spec import parse_spec

    # 1e308 + 1e308 overflows to inf: every share became 0 and the network refused a vector of zeros.
    assert [term.weight for term in parse_spec("candy:1e308,mosaic:1e308").terms] == [0.5, 0.5]
    assert [term.weight for term in parse_spec("candy:1e308,mosaic:0").terms] == [1.0, 0.0]


def test_a_disk_that_fills_up_while_encoding_is_one_line_naming_the_output(tiny_checkpoint: Path, tmp_path: Path,
                                                                      monkeypatch, capsys) -> None:
    import av

    import fast_style.infer.video as video
    from fast_style.infer.video_cli import main
    from tests.clips import make_clip

    photo = tmp_path / "p.png"
    Image.effect_noise((64, 48), 50).convert("RGB").save(photo)
    clip = make_clip([photo], tmp_path / "clip.mp4", width=64, height=48, fps=8, seconds_per_shot=1.0)
    real_write, calls = video._Encoder.write, []

    def write(self, out):
        calls.append(len(out))
        if len(calls) == 2:
            raise av.error.OSError(errno.ENOSPC, "No space left on device")
        return real_write(self, out)

    monkeypatch.setattr(video._Encoder, "write", write)
    output = tmp_path / "out" / "styled.mp4"
    status = main(["--ckpt", str(tiny_checkpoint), "--input", str(clip), "--output", str(output), "--quiet",
                   "--batch-size", "2"])
    line = _one_error_line(capsys.readouterr().err)
    assert status == 2 and len(calls) == 2
    assert line.startswith(f"error: cannot write {str(output)!r}: no space left on the device")
    assert "input" not in line and list(output.parent.iterdir()) == []  # the input is not blamed; nothing half-written


@pytest.mark.parametrize("lr", ["nan", "-1", "inf"])
def test_compare_refuses_a_bad_step_size_before_loading_anything(tmp_path: Path, monkeypatch, capsys, lr: str) -> None:
    import fast_style.baseline.compare_cli as compare_cli

    monkeypatch.setattr(compare_cli, "resolve_network", _never_stylize)
    status = compare_cli.main(["--style", "candy", "--lr", lr, "--output", str(tmp_path / "o")])
    assert status == 2
    assert f"lr must be a finite number > 0 or None (the default), got {float(lr)}" in _one_error_line(
        capsys.readouterr().err)


def test_a_full_disk_is_refused_before_the_first_frame(tiny_checkpoint: Path, tmp_path: Path, monkeypatch,
                                                        capsys) -> None:
    import shutil

    import fast_style.atomic as atomic
    import fast_style.infer.video_cli as video_cli

    real_usage = shutil.disk_usage
    monkeypatch.setattr(atomic.shutil, "disk_usage", lambda path: real_usage(path)._replace(free=100))
    monkeypatch.setattr(video_cli, "stylize_video", _never_stylize)
    monkeypatch.setattr(video_cli, "expected_frames", _never_stylize)
    clip = tmp_path / "clip.mp4"
    clip.write_bytes(b"not read: the disk fails first")
    status = video_cli.main(["--ckpt", str(tiny_checkpoint), "--input", str(clip), "--output", str(tmp_path / "o.mp4")])
    assert status == 2 and "no space left on the device (0.0 MB free)" in _one_error_line(capsys.readouterr().err)
