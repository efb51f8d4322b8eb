"""Hostile inputs for the training data loader and the stylize CLI: skipped or refused, never a crash or a hang."""

from __future__ import annotations

import io
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fast_style.infer.stylize_cli import main
from fast_style.train.data import ImageFolderDataset

GOOD = ("good_a.jpg", "good_b.png", "good_c.webp")


def _encoded(fmt: str, size: tuple[int, int] = (48, 40), seed: int = 0) -> bytes:
    array = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format=fmt)
    return buffer.getvalue()


@pytest.fixture
def hostile_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "hostile"
    folder.mkdir()
    (folder / "good_a.jpg").write_bytes(_encoded("JPEG", seed=1))
    (folder / "good_b.png").write_bytes(_encoded("PNG", seed=2))
    (folder / "good_c.webp").write_bytes(_encoded("WEBP", seed=3))
    (folder / "random_bytes.jpg").write_bytes(np.random.default_rng(4).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    for fmt, name in (("JPEG", "truncated.jpg"), ("PNG", "truncated.png"), ("WEBP", "truncated.webp")):
        data = _encoded(fmt, (64, 64), seed=5)
        (folder / name).write_bytes(data[: len(data) // 2])
    (folder / "empty.png").write_bytes(b"")
    Image.new("RGB", (1, 1), (9, 9, 9)).save(folder / "one_pixel.png")
    Image.new("RGB", (65535, 1), (9, 99, 9)).save(folder / "strip.png")
    (folder / "png_named.jpg").write_bytes(_encoded("PNG", (36, 30), seed=6))  # decodes by content: good
    os.symlink(folder, folder / "loop")  # a symlink loop inside the folder
    locked = folder / "locked"
    locked.mkdir()
    (locked / "inside.png").write_bytes(_encoded("PNG", seed=7))
    locked.chmod(0)
    yield folder
    locked.chmod(0o755)


def test_data_loader_skips_every_bad_file_and_keeps_every_good_one(hostile_dir: Path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dataset = ImageFolderDataset(hostile_dir, image_size=16, random_crop=True)
        items = [dataset[index] for index in range(len(dataset))]
    names = {path.name for path in dataset.files}
    assert set(GOOD) | {"png_named.jpg"} <= names
    assert not names & {"random_bytes.jpg", "empty.png", "truncated.png"}
    assert all(item.shape == (3, 16, 16) and torch.isfinite(item).all() for item in items)
    assert {path.name for path in dataset.skipped} >= {"random_bytes.jpg", "empty.png"}
    assert any("skipping unreadable image" in str(w.message) for w in caught)


def test_stylize_cli_on_the_hostile_folder(tiny_checkpoint: Path, hostile_dir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture):
    out = tmp_path / "out"
    status = main(["--ckpt", str(tiny_checkpoint), "--input", str(hostile_dir), "--output", str(out), "--quiet"])
    err = capsys.readouterr().err
    assert status == 1  # something failed, and the exit status says so
    written = sorted(p.name for p in out.iterdir())
    assert set(GOOD) | {"png_named.jpg"} <= set(written)
    for bad in ("random_bytes.jpg", "empty.png", "one_pixel.png", "strip.png", "truncated.png"):
        assert bad not in written
        assert sum(bad in line for line in err.splitlines()) == 1, (bad, err)  # one line each
    assert "Traceback" not in err
    assert not any(name.endswith(".part") for name in os.listdir(out))


def test_stylize_cli_recursive_survives_the_loop_and_the_locked_folder(tiny_checkpoint: Path, hostile_dir: Path,
                                                                        tmp_path: Path):
    out = tmp_path / "out"
    status = main(["--ckpt", str(tiny_checkpoint), "--input", str(hostile_dir), "--output", str(out), "--quiet",
                   "--recursive"])
    assert status == 1
    assert set(GOOD) <= {p.name for p in out.iterdir()}
