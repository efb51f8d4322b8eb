"""One name per thing (issue #31, point 5): the new names work, and the old ones still do, with one warning line.

Every rename here is listed in CHANGELOG.md ("Unreleased"); the old names go in the next release.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

from fast_style.infer.stylize_cli import main as stylize_main


def test_tile_is_the_deprecated_flag_of_strip_size(tiny_checkpoint: Path, tmp_path: Path, capsys) -> None:
    photo = tmp_path / "p.png"
    Image.effect_noise((40, 30), 60).convert("RGB").save(photo)
    base = ["--ckpt", str(tiny_checkpoint), "--input", str(photo), "--quiet"]
    assert stylize_main([*base, "--output", str(tmp_path / "new.png"), "--strip-size", "16"]) == 0
    assert "warning" not in capsys.readouterr().err
    assert stylize_main([*base, "--output", str(tmp_path / "old.png"), "--tile", "16"]) == 0
    assert capsys.readouterr().err == ("warning: --tile is deprecated and will be removed in the next release; "
                                       "use --strip-size\n")
    assert (tmp_path / "old.png").read_bytes() == (tmp_path / "new.png").read_bytes()
    assert stylize_main([*base, "--output", str(tmp_path / "bad.png"), "--tile", "4"]) == 2
    assert "strip_size must be an integer of at least 16 pixels, got 4" in capsys.readouterr().err
