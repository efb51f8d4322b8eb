"""Gram matrix, total variation and MSE against hand computation."""

import pytest
import torch

from fast_style.loss.ops import feature_mse, gram_matrix, total_variation


def test_gram_matrix_matches_hand_computation():
    # One image, C=2 channels, 1x2 pixels: F = [[1, 2], [3, 4]].
    features = torch.tensor([[[[1.0, 2.0]], [[3.0, 4.0]]]])
    expected = torch.tensor([[[1 + 4, 3 + 8], [3 + 8, 9 + 16]]]) / (2 * 1 * 2)
    assert torch.allclose(gram_matrix(features), expected)


def test_gram_matrix_is_per_image_and_symmetric():
    features = torch.randn(3, 5, 4, 6)
    grams = gram_matrix(features)
    assert grams.shape == (3, 5, 5)
    assert torch.allclose(grams, grams.transpose(1, 2))
    assert torch.allclose(grams[1], gram_matrix(features[1:2])[0])


def test_gram_matrix_stays_float32_under_autocast():
    # Caffe-convention activations are in the hundreds; their Gram sums overflow fp16.
    # fp16 (the GPU preset's 16-mixed) tops out at 65504: 300² alone is 90000, and the sum over
    # 64×64 positions is 3.7e8, so any fp16 step in the Gram gives inf.
    features = torch.full((1, 4, 64, 64), 300.0)
    with torch.autocast("cpu", dtype=torch.float16):
        gram = gram_matrix(features.half())
    assert gram.dtype == torch.float32
    assert torch.isfinite(gram).all()
    assert torch.allclose(gram, torch.full((1, 4, 4), 300.0**2 / 4), rtol=1e-2)


def test_gram_matrix_rejects_wrong_rank():
    with pytest.raises(ValueError, match="shape"):
        gram_matrix(torch.zeros(3, 4))


def test_total_variation_matches_hand_computation():
    # 1 image, 1 channel, 2x2: [[0, 1], [2, 4]].
    image = torch.tensor([[[[0.0, 1.0], [2.0, 4.0]]]])
    dx = ((1 - 0) ** 2 + (4 - 2) ** 2) / 2
    dy = ((2 - 0) ** 2 + (4 - 1) ** 2) / 2
    assert total_variation(image).item() == pytest.approx(dx + dy)


def test_total_variation_zero_for_constant_image():
    assert total_variation(torch.full((2, 3, 8, 9), 0.3)).item() == 0.0


def test_total_variation_rejects_tiny_images():
    with pytest.raises(ValueError, match="H>=2"):
        total_variation(torch.zeros(1, 3, 1, 5))


def test_feature_mse_broadcasts_target_over_batch():
    prediction = torch.tensor([[1.0, 3.0], [2.0, 2.0]])
    target = torch.tensor([[1.0, 1.0]])
    assert feature_mse(prediction, target).item() == pytest.approx((0 + 4 + 1 + 1) / 4)
