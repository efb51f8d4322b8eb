"""The held-out paintings exist in the mirror and never reach a training list."""

from pathlib import Path

import pytest

from fast_style.assets import resolve_asset
from fast_style.errors import InvalidValueError
from fast_style.heldout import HELD_OUT_PAINTINGS, is_held_out, training_paintings


def test_every_held_out_painting_is_in_the_mirror():
    for name in HELD_OUT_PAINTINGS:
        assert resolve_asset(name).is_file(), name


def test_training_paintings_leave_out_exactly_the_held_out_ones():
    folders = [resolve_asset("paintings"), resolve_asset("styles")]
    chosen = training_paintings(folders)
    everything = [p for folder in folders for p in Path(folder).iterdir() if p.suffix.lower() in (".jpg", ".png")]
    assert not any(is_held_out(p) for p in chosen)
    assert len(chosen) == len(everything) - len(HELD_OUT_PAINTINGS)


def test_held_out_is_recognised_in_a_copy_of_the_mirror(tmp_path):
    copy = tmp_path / "mirror" / "styles"
    copy.mkdir(parents=True)
    (copy / "brushstrokes.jpg").write_bytes(b"x")
    (copy / "candy.jpg").write_bytes(b"x")
    assert [p.name for p in training_paintings([copy])] == ["candy.jpg"]


def test_a_folder_with_only_held_out_paintings_is_refused(tmp_path):
    (tmp_path / "styles").mkdir()
    (tmp_path / "styles" / "brushstrokes.jpg").write_bytes(b"x")
    with pytest.raises(InvalidValueError, match="no training painting"):
        training_paintings([tmp_path / "styles"])
