"""One name per thing (issue #31, point 5): the new names work, and the old ones still do, with one warning line.

Every rename here is listed in CHANGELOG.md ("Unreleased"); the old names go in the next release.
"""

from __future__ import annotations

from pathlib import Path

import pytest
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


def test_init_from_means_a_file_or_a_zoo_name_in_multistyle_training_as_in_distillation(tiny_checkpoint: Path,
                                                                                         monkeypatch) -> None:
    import fast_style.checkpoint as checkpoint_module
    from fast_style import zoo
    from fast_style.train.multistyle import MultiStyleTransferModule

    read = []

    def record(path):
        read.append(Path(path))
        raise KeyboardInterrupt  # what the warm start does with the file is tested in test_multistyle_train.py

    monkeypatch.setattr(checkpoint_module, "read_checkpoint", record)
    for start in ("candy@styles15", str(tiny_checkpoint)):
        with pytest.raises(KeyboardInterrupt):
            MultiStyleTransferModule._warm_start(None, start)  # type: ignore[arg-type]
    assert read == [zoo.resolve("candy@styles15").path, tiny_checkpoint]
