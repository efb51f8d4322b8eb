"""scripts/stylize.py: inputs, outputs, every option, awkward images, exit status and summary."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fast_style.infer.stylize import load_model, stylize
from fast_style.infer.stylize_cli import main
from fast_style.io import read_photo


def _noise(height: int, width: int, channels: int = 3, seed: int = 0) -> np.ndarray:
    shape = (height, width, channels) if channels > 1 else (height, width)
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)


@pytest.fixture
def mixed_dir(tmp_path: Path) -> Path:
    """Photos of every awkward kind, plus one corrupt file."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.fromarray(_noise(31, 45)).save(folder / "odd.jpg")
    Image.fromarray(_noise(21, 34, 4), "RGBA").save(folder / "alpha.png")
    Image.fromarray(_noise(20, 17, 1), "L").save(folder / "gray.png")
    Image.fromarray(_noise(26, 30)).convert("CMYK").save(folder / "cmyk.jpg")
    rotated = Image.fromarray(_noise(20, 40))  # 40 wide, 20 high as stored
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display": shown 20 wide, 40 high
    rotated.save(folder / "rotated.jpg", exif=exif)
    (folder / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nthis is not really a png")
    return folder


def _size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def _mode(path: Path) -> str:
    with Image.open(path) as image:
        return image.mode


def test_mixed_folder_every_good_photo_at_its_size(tiny_checkpoint: Path, mixed_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    status = main(["--ckpt", str(tiny_checkpoint), "--input", str(mixed_dir), "--output", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1
    assert sorted(p.name for p in out.iterdir()) == ["alpha.png", "cmyk.jpg", "gray.png", "odd.jpg", "rotated.jpg"]
    assert _size(out / "odd.jpg") == (45, 31)
    assert _size(out / "rotated.jpg") == (20, 40)  # EXIF orientation honoured
    assert _size(out / "alpha.png") == (34, 21) and _mode(out / "alpha.png") == "RGBA"
    assert _size(out / "gray.png") == (17, 20) and _mode(out / "gray.png") == "RGB"
    assert _size(out / "cmyk.jpg") == (30, 26) and _mode(out / "cmyk.jpg") == "RGB"
    assert "corrupt.png" in err and "cannot read image" in err
    assert "5 of 6 stylised" in err and "1 failed" in err


def test_alpha_is_reattached_unchanged(tiny_checkpoint: Path, mixed_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "a.png"
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(mixed_dir / "alpha.png"), "--output", str(out)]) == 0
    with Image.open(mixed_dir / "alpha.png") as source, Image.open(out) as result:
        assert np.array_equal(np.asarray(source.getchannel("A")), np.asarray(result.getchannel("A")))
        assert not np.array_equal(np.asarray(source.convert("RGB")), np.asarray(result.convert("RGB")))


def test_output_matches_the_api(tiny_checkpoint: Path, tmp_path: Path) -> None:
    source = tmp_path / "photo.png"
    Image.fromarray(_noise(23, 29)).save(source)
    out = tmp_path / "styled.png"
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(source), "--output", str(out)]) == 0
    expected = stylize(load_model(tiny_checkpoint), read_photo(source).rgb.unsqueeze(0))[0]
    got = torch.from_numpy(np.array(Image.open(out))).permute(2, 0, 1).float() / 255
    assert (got - expected).abs().max() <= 0.5 / 255 + 1e-6


def test_exit_status_and_summary_when_one_input_is_bad(tiny_checkpoint: Path, photo_dir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture) -> None:
    # In-process: scripts/stylize.py is this main (test_scripts.py runs every script as users do).
    bad = tmp_path / "broken.jpg"
    bad.write_bytes(b"\xff\xd8\xff truncated")
    files = sorted(map(str, photo_dir.iterdir()))[:2]
    status = main(["--ckpt", str(tiny_checkpoint), "--input", *files, str(bad), str(tmp_path / "missing.png"),
                   "--output", str(tmp_path / "out")])
    stderr = capsys.readouterr().err
    assert status == 1
    assert "broken.jpg" in stderr and "missing.png: no such file" in stderr
    assert "2 of 4 stylised" in stderr and "2 failed" in stderr
    assert len(list((tmp_path / "out").iterdir())) == 2


def test_all_good_exits_zero_with_summary(tiny_checkpoint: Path, photo_dir: Path, tmp_path: Path,
                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(out)]) == 0
    assert "5 of 5 stylised" in capsys.readouterr().out
    for source in photo_dir.iterdir():
        assert _size(out / source.name) == _size(source)


def test_never_overwrites_without_permission_nor_an_input(tiny_checkpoint: Path, photo_dir: Path, tmp_path: Path,
                                                          capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "out"
    args = ["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(out), "--quiet"]
    assert main(args) == 0
    stamp = (out / "photo_0.png").stat().st_mtime_ns
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (out / "photo_0.png").stat().st_mtime_ns == stamp
    assert main([*args, "--overwrite"]) == 0
    before = (photo_dir / "photo_0.png").read_bytes()
    for extra in ([], ["--overwrite"]):
        status = main(["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(photo_dir), *extra])
        assert status == 2
        assert "would overwrite the input" in capsys.readouterr().err
    assert (photo_dir / "photo_0.png").read_bytes() == before


def test_glob_recursive_and_file_output(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    Image.fromarray(_noise(12, 14)).save(root / "top.png")
    Image.fromarray(_noise(15, 11)).save(root / "sub" / "deep.jpg")
    ckpt = str(tiny_checkpoint)
    assert main(["--ckpt", ckpt, "--input", str(root), "--output", str(tmp_path / "flat")]) == 0
    assert [p.name for p in (tmp_path / "flat").rglob("*.*")] == ["top.png"]
    assert main(["--ckpt", ckpt, "--input", str(root), "--recursive", "--output", str(tmp_path / "rec")]) == 0
    assert (tmp_path / "rec" / "top.png").is_file() and (tmp_path / "rec" / "sub" / "deep.jpg").is_file()
    assert main(["--ckpt", ckpt, "--input", str(root / "**" / "*.jpg"), "--output", str(tmp_path / "glob")]) == 0
    assert [p.name for p in (tmp_path / "glob").iterdir()] == ["deep.jpg"]
    # A file output: the format follows its extension.
    assert main(["--ckpt", ckpt, "--input", str(root / "top.png"), "--output", str(tmp_path / "one.webp")]) == 0
    with Image.open(tmp_path / "one.webp") as image:
        assert image.format == "WEBP" and image.size == (14, 12)
    assert main(["--ckpt", ckpt, "--input", str(root), "--recursive", "--output", str(tmp_path / "x.png")]) == 2
    assert "is a file but 2 inputs" in capsys.readouterr().err


def test_max_size_batch_strength_preserve_color_tile(tiny_checkpoint: Path, tmp_path: Path) -> None:
    folder = tmp_path / "same"
    folder.mkdir()
    for index in range(3):
        Image.fromarray(_noise(40, 60, seed=index)).save(folder / f"p{index}.png")
    ckpt = str(tiny_checkpoint)

    def run(name: str, *extra: str) -> list[np.ndarray]:
        out = tmp_path / name
        assert main(["--ckpt", ckpt, "--input", str(folder), "--output", str(out), "--quiet", *extra]) == 0
        return [np.asarray(Image.open(out / f"p{i}.png"), dtype=np.int16) for i in range(3)]

    plain = run("plain")
    batched = run("batched", "--batch-size", "2")
    assert all(np.abs(a - b).max() <= 1 for a, b in zip(plain, batched))
    tiled = run("tiled", "--strip-size", "16")
    assert all(np.abs(a - b).max() <= 1 for a, b in zip(plain, tiled))
    small = run("small", "--max-size", "30")
    assert small[0].shape == (20, 30, 3)
    photo = np.asarray(Image.open(folder / "p0.png"), dtype=np.int16)
    none = run("none", "--strength", "0")
    assert np.array_equal(none[0], photo)
    half = run("half", "--strength", "0.5")
    assert np.abs(half[0] - (photo + plain[0]) / 2).max() <= 1.5
    kept = run("kept", "--preserve-color")
    assert not np.array_equal(kept[0], plain[0])
    gray = lambda a: a @ np.array([0.299, 0.587, 0.114])
    chroma = lambda a: a - gray(a)[..., None]
    assert np.abs(chroma(kept[0]) - chroma(photo)).mean() < np.abs(chroma(plain[0]) - chroma(photo)).mean() / 3


def test_decompression_bomb_guard(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "big.png"
    Image.fromarray(_noise(30, 40)).save(source)
    args = ["--ckpt", str(tiny_checkpoint), "--input", str(source), "--output"]
    assert main([*args, str(tmp_path / "a.png"), "--max-pixels", "1000"]) == 1
    err = capsys.readouterr().err
    assert "1,200 pixels" in err and "decompression-bomb limit of 1,000" in err and "--max-pixels" in err
    assert main([*args, str(tmp_path / "b.png"), "--max-pixels", "1200"]) == 0


def test_tiny_image_is_reported(tiny_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    source = tmp_path / "dot.png"
    Image.fromarray(_noise(3, 9)).save(source)
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(source), "--output", str(tmp_path / "o")]) == 1
    assert "too small" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("extra", "match"),
    [
        (["--strength", "2"], "strength must be a number in \\[0, 1\\]"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
        (["--strip-size", "4"], "at least 16 pixels, got 4 \\(or 0"),
        (["--tile", "4"], "at least 16 pixels, got 4 \\(or 0"),
        (["--precision", "fp16", "--device", "cpu"], "fp16"),
        (["--strip-size", "64", "--backend", "onnxruntime"], "--strip-size works with --backend torch"),
        (["--max-size", "2"], "--max-size"),
    ],
)
def test_bad_options_are_usage_errors(tiny_checkpoint: Path, photo_dir: Path, tmp_path: Path, extra: list[str],
                                      match: str, capsys: pytest.CaptureFixture) -> None:
    args = ["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(tmp_path / "o"), *extra]
    assert main(args) == 2
    assert re.search(match, capsys.readouterr().err)
    assert not (tmp_path / "o").exists()


def test_bad_checkpoint_is_a_usage_error(photo_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    ckpt = tmp_path / "x.pth"
    ckpt.write_bytes(b"nope")
    assert main(["--ckpt", str(ckpt), "--input", str(photo_dir), "--output", str(tmp_path / "o")]) == 2
    assert "not a readable style checkpoint" in capsys.readouterr().err


def test_device_cpu_bf16(tiny_checkpoint: Path, photo_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "o"
    args = ["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(out), "--device", "cpu"]
    assert main([*args, "--precision", "bf16", "--quiet"]) == 0
    assert len(list(out.iterdir())) == 5
    # bf16 output is the fp32 picture up to bf16 rounding (not garbage, not a copy of the photo).
    reference = tmp_path / "fp32"
    assert main(["--ckpt", str(tiny_checkpoint), "--input", str(photo_dir), "--output", str(reference), "--quiet"]) == 0
    for path in sorted(reference.iterdir()):
        bf16, fp32 = read_photo(out / path.name).rgb, read_photo(path).rgb
        assert bf16.shape == fp32.shape
        assert (bf16 - fp32).abs().mean() < 0.02
        assert (fp32 - read_photo(photo_dir / path.name).rgb).abs().mean() > 0.02
