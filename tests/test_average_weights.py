"""Stochastic weight averaging of one run's checkpoints (fast_style.models.surgery.average_weights,
scripts/average_weights.py) and the card the averaged network carries."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from fast_style.card import ARBITRARY_FAMILY, NetworkCard, StyleEntry
from fast_style.checkpoint import read_checkpoint, save_inference_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.infer.stylize import load_model
from fast_style.loss.perceptual import PerceptualLossSettings
from fast_style.models import arbitrary
from fast_style.models.surgery import average_weights
from fast_style.models.transformer import TransformerNet
from tests.helpers import load_script


def _states(count: int) -> list[dict[str, torch.Tensor]]:
    generator = torch.Generator().manual_seed(0)
    frozen = torch.randn(3, 4, generator=generator)
    return [{"learnt": torch.randn(5, generator=generator), "frozen": frozen.clone(), "steps": torch.tensor(7)}
            for _ in range(count)]


def test_the_mean_of_the_learnt_weights_and_the_frozen_ones_as_they_are():
    states = _states(3)
    averaged = average_weights(states)
    expected = (states[0]["learnt"].double() + states[1]["learnt"].double() + states[2]["learnt"].double()) / 3
    torch.testing.assert_close(averaged["learnt"], expected.float(), rtol=0, atol=1e-7)
    assert torch.equal(averaged["frozen"], states[0]["frozen"]) and averaged["frozen"] is not states[0]["frozen"]
    assert torch.equal(averaged["steps"], torch.tensor(7))
    assert not any(torch.equal(averaged["learnt"], state["learnt"]) for state in states)


@pytest.mark.parametrize("break_it, message", [
    (lambda states: states[:1], "two or more checkpoints"),
    (lambda states: [states[0], {**states[1], "extra": torch.zeros(1)}], "weights differ at extra"),
    (lambda states: [states[0], {**states[1], "learnt": torch.zeros(6)}], r"'learnt' is \(6,\)"),
    (lambda states: [states[0], {**states[1], "learnt": states[1]["learnt"].double()}], "float64"),
    (lambda states: [states[0], {**states[1], "steps": torch.tensor(8)}], "only floating weights"),
])
def test_checkpoints_of_other_networks_are_refused_naming_what_differs(break_it, message):
    with pytest.raises(InvalidValueError, match=message):
        average_weights(break_it(_states(2)))


def _tiny_checkpoints(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for seed in range(count):
        torch.manual_seed(seed)
        net = TransformerNet(width=4, num_residual_blocks=1).eval()
        paths.append(save_inference_checkpoint(net, tmp_path / f"step{seed}.pth", style="run", config={
            "loss": {"style_image": "styles/candy.jpg", "style_weight": 3.0}, "model": {"width": 4}}))
    return paths


def test_the_script_writes_a_checkpoint_every_command_takes(tmp_path: Path, capsys):
    script = load_script("average_weights")
    inputs = _tiny_checkpoints(tmp_path, 3)
    output = tmp_path / "run_mean.pth"
    assert script.main([*map(str, inputs), "--name", "run_mean", "--output", str(output)]) == 0
    assert "the mean of 3 checkpoints" in capsys.readouterr().out
    written = read_checkpoint(output)
    states = [read_checkpoint(path).state_dict for path in inputs]
    for key, value in written.state_dict.items():
        if value.is_floating_point():
            torch.testing.assert_close(value, sum(state[key] for state in states) / 3, rtol=0, atol=1e-6)
    assert written.style == "run_mean" and [entry.name for entry in written.card.styles] == ["run_mean"]
    assert written.card.style_image() == "styles/candy.jpg"  # the run's painting, kept under the new name
    assert written.config["averaged_from"] == [str(path) for path in inputs]
    photo = torch.rand(1, 3, 20, 24)
    with torch.no_grad():
        assert load_model(str(output))(photo).shape == photo.shape


def test_the_script_never_overwrites_unasked_and_never_an_input(tmp_path: Path, capsys):
    script = load_script("average_weights")
    inputs = [str(path) for path in _tiny_checkpoints(tmp_path, 2)]
    output = tmp_path / "mean.pth"
    output.write_bytes(b"mine")
    assert script.main([*inputs, "--output", str(output)]) == 2
    assert "exists (--overwrite replaces it)" in capsys.readouterr().err and output.read_bytes() == b"mine"
    assert script.main([*inputs, "--output", inputs[0], "--overwrite"]) == 2
    assert "one of the checkpoints averaged" in capsys.readouterr().err
    assert script.main([*inputs, "--output", str(tmp_path / "missing" / "x.pth"), "--card", "nope.pth"]) == 2
    assert "'nope.pth' does not exist" in capsys.readouterr().err
    assert script.main([*inputs, "--output", str(output), "--overwrite"]) == 0
    assert read_checkpoint(output).style == "run"


def test_a_renamed_arbitrary_card_keeps_no_placeholder_painting():
    """The arbitrary module trains on many paintings; the config's style image (a placeholder) is none of them."""
    assert ARBITRARY_FAMILY == arbitrary.FAMILY
    loss = PerceptualLossSettings(style_image="styles/starry_night.jpg", style_weight=10.0)
    card = NetworkCard({"family": ARBITRARY_FAMILY, "styles": ["candy", "mondrian"]}, "run",
                       (StyleEntry("run", "styles/starry_night.jpg", 10.0),), loss)
    renamed = card.renamed("arbitrary")
    assert renamed.style == "arbitrary" and renamed.styles == () and renamed.loss.style_image is None
    assert renamed.loss.style_weight == 10.0 and renamed.style_image("mondrian") is None
    one_style = NetworkCard({"width": 4}, "run", (StyleEntry("run", "styles/candy.jpg", 3.0),), loss)
    assert one_style.renamed("mine").styles == (StyleEntry("mine", "styles/candy.jpg", 3.0),)
