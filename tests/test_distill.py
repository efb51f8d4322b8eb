"""experiment=distill: a small student learns a trained teacher's output, with no VGG in the loop."""

from __future__ import annotations

import copy
from types import SimpleNamespace
from unittest.mock import patch

import pytest
import torch

from fast_style.checkpoint import model_from_checkpoint, read_checkpoint
from fast_style.errors import InvalidValueError
from fast_style.models import TransformerNet
from fast_style.models.surgery import recenter_block_phases
from fast_style.train.distill import DistillationLoss, DistillationModule
from fast_style.train.prepare import prepare
from fast_style.train.run import build, train
from fast_style.zoo import UnknownStyleError, add_to_zoo, describe


def test_the_loss_is_the_distance_to_the_teachers_output(tiny_model):
    photos = torch.rand(2, 3, 24, 24, generator=torch.Generator().manual_seed(0))
    student = TransformerNet(width=4, num_residual_blocks=1, space_to_depth=True, stem_kernel=3, head_kernel=3)
    output = student(photos)
    with torch.no_grad():
        target = tiny_model(photos)
    l1 = DistillationLoss(tiny_model, "l1")(output, photos)
    mse = DistillationLoss(tiny_model, "mse")(output, photos)
    assert torch.allclose(l1["pixel"], (output - target).abs().mean(), atol=1e-6)
    assert torch.allclose(mse["total"], ((output - target) ** 2).mean(), atol=1e-6)
    # The student's output gets the gradient; the teacher gets none.
    l1["total"].backward()
    assert all(p.grad is not None for p in student.parameters())
    assert all(p.grad is None for p in tiny_model.parameters())


def test_the_teacher_stays_frozen_in_eval_mode(tiny_model):
    loss = DistillationLoss(tiny_model)
    loss.train()
    assert not loss.teacher.training and not any(p.requires_grad for p in loss.teacher.parameters())


def test_a_student_learns_its_teacher(tiny_model):
    """Fifty steps on one batch bring the student much closer to the teacher than it started."""
    torch.manual_seed(0)
    photos = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    student = TransformerNet(width=4, num_residual_blocks=1, space_to_depth=True, stem_kernel=3, head_kernel=3)
    loss_fn = DistillationLoss(tiny_model)
    optimizer = torch.optim.Adam(student.parameters(), lr=1e-2)
    start = float(loss_fn(student(photos), photos)["total"])
    for _ in range(50):
        optimizer.zero_grad()
        loss_fn(student(photos), photos)["total"].backward()
        optimizer.step()
    assert float(loss_fn(student(photos), photos)["total"]) < 0.5 * start


def test_a_distill_run_writes_a_student_judged_on_its_teachers_loss(train_config, tmp_path, tiny_checkpoint,
                                                                     assets_dir):
    config = train_config("experiment=distill", f"teacher={tiny_checkpoint}",
                          "model.width=4", "model.num_residual_blocks=1")
    path = train(config, tmp_path / "run")
    stored = read_checkpoint(path)
    teacher = read_checkpoint(tiny_checkpoint)
    assert path.name == "tiny-small.pth" and stored.style == "tiny-small"
    assert stored.config["module"]["teacher"] == str(tiny_checkpoint)
    # The teacher's loss, except what debug=default itself overrides (32-px style size, a random VGG).
    for key in ("style_image", "style_weight", "content_weight", "content_layers", "style_layers"):
        assert getattr(stored.card.loss, key) == getattr(teacher.card.loss, key)
    assert stored.model_args["space_to_depth"] is True
    assert model_from_checkpoint(stored)(torch.rand(1, 3, 20, 20)).shape == (1, 3, 20, 20)
    # Resumable checkpoints hold the student only: the teacher is rebuilt from the config.
    ckpt = torch.load(tmp_path / "run" / "lightning_checkpoints" / "last.ckpt", weights_only=False)
    assert ckpt["state_dict"] and all(key.startswith("model.") for key in ckpt["state_dict"])


def test_a_distill_run_resumes_from_its_checkpoint(train_config, tmp_path, tiny_checkpoint, assets_dir):
    overrides = ("experiment=distill", f"teacher={tiny_checkpoint}", "model.width=4", "model.num_residual_blocks=1")
    train(train_config(*overrides), tmp_path / "run")
    last = tmp_path / "run" / "lightning_checkpoints" / "last.ckpt"
    # Resuming to more steps replaces the first run's network of the same name: the run says so.
    path = train(train_config(*overrides, "trainer.max_steps=5", f"ckpt_path={last}", "overwrite=true"),
                 tmp_path / "run2")
    assert read_checkpoint(path).meta["global_step"] == 5


def test_the_last_steps_fine_tune_against_the_teachers_perceptual_loss_from_a_given_start(
        train_config, tmp_path, tiny_checkpoint, assets_dir):
    """perceptual_steps: the run's last steps log the perceptual terms; init_from starts from an earlier student."""
    overrides = ("experiment=distill", f"teacher={tiny_checkpoint}", "model.width=4", "model.num_residual_blocks=1")
    first = train(train_config(*overrides), tmp_path / "run")
    config = train_config(*overrides, "trainer.max_steps=4", "module.perceptual_steps=2", f"module.init_from={first}",
                          "overwrite=true")
    module = build(prepare(config).module)
    start = model_from_checkpoint(read_checkpoint(first))
    assert all(torch.equal(a, b) for a, b in zip(module.model.state_dict().values(), start.state_dict().values()))
    seen = []
    module.log_dict = lambda values, **kwargs: seen.append(sorted(values))
    module.log = lambda *args, **kwargs: None
    trainer = SimpleNamespace(max_steps=4, global_step=0)
    photos = torch.rand(2, 3, 32, 32)
    with patch.object(type(module), "trainer", trainer), patch.object(type(module), "global_step",
                                                                         property(lambda self: trainer.global_step)):
        for step in range(4):
            trainer.global_step = step
            module.training_step(photos, step)
    assert seen[0] == seen[1] == ["train/edge", "train/pixel", "train/total"]
    assert seen[2] == seen[3] and "train/style" in seen[2] and "train/pixel" not in seen[2]
    # Resumable checkpoints still hold the student only (the VGG of the fine-tune is rebuilt, like the teacher).
    distilled = read_checkpoint(first).meta["global_step"]
    second = train(config, tmp_path / "run2")  # the same checkpoints/<style>.pth: it replaces the first
    # Its file records both legs, and --list-styles counts them together (distilled + 4 fine-tuned steps).
    history = read_checkpoint(second).meta["history"]
    assert [leg["steps"] for leg in history] == [distilled, 4] and history[1]["init_from"] == str(first)
    zoo = add_to_zoo(second, tmp_path / "zoo").parent
    assert describe(read_checkpoint(second).style, zoo_dir=zoo)["steps"] == distilled + 4 > 4
    ckpt = torch.load(tmp_path / "run2" / "lightning_checkpoints" / "last.ckpt", weights_only=False)
    assert all(key.startswith("model.") for key in ckpt["state_dict"])


def test_a_start_of_another_layout_is_refused(train_config, tiny_checkpoint):
    config = train_config("experiment=distill", f"teacher={tiny_checkpoint}", f"module.init_from={tiny_checkpoint}")
    with pytest.raises(InvalidValueError, match="init_from"):
        build(prepare(config).module)


@pytest.mark.parametrize("overrides,error,message", [
    (["teacher=no_such_style"], UnknownStyleError, "no_such_style"),
    (["module.pixel_loss=l3"], InvalidValueError, "pixel_loss"),
])
def test_bad_distill_settings_are_one_clear_error(train_config, tiny_checkpoint, overrides, error, message):
    config = train_config("experiment=distill", f"teacher={tiny_checkpoint}", *overrides)
    with pytest.raises(error, match=message):
        build(prepare(config).module)


def test_the_module_refuses_a_teacher_that_is_not_a_name():
    with pytest.raises(InvalidValueError, match="teacher"):
        DistillationModule("x-small", teacher="", loss={"style_image": "styles/candy.jpg"})


def test_the_edge_term_compares_the_images_differences(tiny_model):
    photos = torch.rand(1, 3, 20, 20, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        target = tiny_model(photos)
    # The teacher's output shifted by a constant: the same edges, a pixel distance of 0.1.
    shifted = (target + 0.1).requires_grad_()
    terms = DistillationLoss(tiny_model, "l1", edge_weight=2.0)(shifted, photos)
    assert torch.allclose(terms["pixel"], torch.tensor(0.1), atol=1e-5)
    assert float(terms["edge"]) < 1e-5 and torch.allclose(terms["total"], terms["pixel"] + terms["edge"])
    blurred = torch.nn.functional.avg_pool2d(target, 3, stride=1, padding=1, count_include_pad=False)
    assert float(DistillationLoss(tiny_model, "l1", edge_weight=2.0)(blurred, photos)["edge"]) > 0
    with pytest.raises(InvalidValueError, match="edge_weight"):
        DistillationLoss(tiny_model, edge_weight=-1)


def test_a_space_to_depth_student_leaves_training_with_its_block_phases_recentred(train_config, tiny_checkpoint):
    config = train_config("experiment=distill", f"teacher={tiny_checkpoint}", "model.width=4",
                          "model.num_residual_blocks=1", "model.space_to_depth=true", "model.stem_kernel=3",
                          "model.head_kernel=3")
    assert config.module.recenter_phases is True
    module = build(prepare(config).module)
    batches = [torch.rand(2, 3, 32, 32) for _ in range(3)]
    before = module.model.head.conv.bias.clone()
    expected = copy.deepcopy(module.model)
    recenter_block_phases(expected, batches)
    fake = SimpleNamespace(datamodule=SimpleNamespace(train_dataloader=lambda: iter(batches)))
    with patch.object(type(module), "trainer", fake):
        module.on_fit_end()
    assert torch.equal(module.model.head.conv.bias, expected.head.conv.bias)
    assert not torch.equal(module.model.head.conv.bias, before)
