"""Which network serves a name or a blend (issue #34): the measurements behind the choice, and the choice."""

from __future__ import annotations

import json

import torch
from PIL import Image

from tests.helpers import load_script


def test_quality_table_judges_the_arbitrary_network_by_the_style_configs_loss(tmp_path, assets_dir, capsys):
    script = load_script("quality_table")
    photos = tmp_path / "photos"
    photos.mkdir()
    array = (torch.rand(20, 24, 3, generator=torch.Generator().manual_seed(0)) * 255).byte().numpy()
    Image.fromarray(array).save(photos / "p0.png")
    common = ["mondrian@arbitrary", "--images", str(photos), "--size", "16", "--iters", "2",
              "--curves", str(tmp_path / "curves"), "--output", str(tmp_path / "table")]
    # Its file records no loss for its stored styles: nothing to place it by, unless the config's is asked for.
    assert script.main(common) == 2
    assert "does not say which loss" in capsys.readouterr().err
    assert script.main([*common, "--loss-from-config"]) == 0
    rows = json.loads((tmp_path / "table" / "table.json").read_text())["rows"]
    assert rows["mondrian@arbitrary"]["style"] == "mondrian"
    assert len(list((tmp_path / "curves" / "mondrian").glob("*.json"))) == 1
