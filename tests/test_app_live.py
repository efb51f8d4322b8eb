"""The web page's live camera mode without a browser: one frame in, its stylisation out (fast_style.infer.app.live)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from fast_style.infer.app.handlers import AppInputError
from fast_style.infer.app.library import StyleLibrary
from fast_style.infer.app.live import LiveState, default_live_styles, frame_tensor, jpeg_data_url, stylize_live_frame
from fast_style.infer.stylize import load_model, stylize


@pytest.fixture
def library(tiny_checkpoint: Path) -> StyleLibrary:
    return StyleLibrary(tiny_checkpoint.parent, include_zoo=False)


def _frame(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    return (torch.rand(height, width, 3, generator=torch.Generator().manual_seed(seed)) * 255).byte().numpy()


def test_a_frame_comes_back_as_the_library_stylises_it(library, tiny_checkpoint):
    frame = _frame()
    picture, status, state = stylize_live_frame(library, frame, "tiny")
    expected = stylize(load_model(tiny_checkpoint), frame_tensor(frame))[0]
    got = torch.from_numpy(picture).permute(2, 0, 1).float() / 255
    assert picture.shape == frame.shape and picture.dtype == np.uint8
    assert (got - expected).abs().max() <= 0.5 / 255 + 1e-6  # uint8 rounding only
    assert status.startswith("tiny: 64×48,") and "ms for this frame" in status
    assert isinstance(state, LiveState) and len(state.done) == 1


def test_frames_per_second_appear_from_the_second_frame_and_big_frames_are_downscaled(library):
    _, first, state = stylize_live_frame(library, _frame(), "tiny")
    picture, second, state = stylize_live_frame(library, _frame(600, 1280), "tiny", state=state, max_side=320)
    assert "measuring" in first and "frames/s" in second and "measuring" not in second
    assert picture.shape == (150, 320, 3)


def test_the_temporal_blend_holds_a_still_picture_and_restarts_on_a_new_style(library, tiny_checkpoint, tmp_path):
    still = _frame()
    jittered = np.clip(still.astype(int) + np.random.default_rng(0).integers(-2, 3, still.shape), 0, 255).astype(np.uint8)
    first, _, state = stylize_live_frame(library, still, "tiny", temporal_blend=0.9)
    held, _, state = stylize_live_frame(library, jittered, "tiny", temporal_blend=0.9, state=state)
    plain, _, _ = stylize_live_frame(library, jittered, "tiny")
    # Sensor-noise changes keep the previous picture (most of it), without the blend they do not.
    assert np.abs(held.astype(int) - first).mean() < np.abs(plain.astype(int) - first).mean()
    other = tmp_path / "other"
    other.mkdir()
    (other / "tiny2.pth").write_bytes(tiny_checkpoint.read_bytes())
    both = StyleLibrary(other, include_zoo=False)
    _, _, state = stylize_live_frame(both, still, "tiny2", temporal_blend=0.9)
    blend = state.blend
    _, _, state = stylize_live_frame(both, still, "tiny2", temporal_blend=0.5, state=state)
    assert state.blend is not blend and state.strength == 0.5


def test_a_stopped_camera_and_bad_requests_keep_the_stream_alive(library):
    picture, status, state = stylize_live_frame(library, None, "tiny")
    assert picture is None and "Camera stopped" in status and isinstance(state, LiveState)
    for style, blend, frame, message in [("nope", 0.0, _frame(), "unknown style"), ("tiny", 1.0, _frame(), "temporal"),
                                         ("", 0.0, _frame(), "Choose a style"),
                                         ("tiny", 0.0, np.zeros((3, 3, 3), np.uint8), "at least"),
                                         ("tiny", 0.0, np.zeros((8, 8)), "RGB")]:
        with pytest.raises(AppInputError, match=message):
            stylize_live_frame(library, frame, style, temporal_blend=blend)


def test_pictures_travel_inline_never_as_cache_files(library, tmp_path, monkeypatch):
    pytest.importorskip("gradio", reason="Gradio is in the 'app' extra, installed by make test")
    from fast_style.infer.app.ui import build_app, in_memory_image

    url = jpeg_data_url(_frame())
    assert url.startswith("data:image/jpeg;base64,")
    assert Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).size == (64, 48)
    import gradio as gr

    payload = in_memory_image(gr.Image(type="numpy")).postprocess(_frame())
    assert payload.path is None and payload.url.startswith("data:image/jpeg")
    app = build_app(library, live_streams=3, live_seconds=120)
    ids = {c.get("props", {}).get("elem_id") for c in app.get_config_file()["components"]}
    assert {"camera", "live-output", "live-style", "live-blend", "live-status"} <= ids
    # A camera stream: at most three at once, each stopped after its time limit.
    (live,) = [fn for fn in app.fns.values() if fn.api_name == "live"]
    assert live.connection == "stream" and live.concurrency_limit == 3 and live.time_limit == 120
    with pytest.raises(ValueError, match="live streams"):
        build_app(library, live_streams=0)


def test_live_styles_offer_the_small_networks_first():
    assert default_live_styles(["candy", "mosaic", "candy-small", "udnie-small"]) == [
        "candy-small", "udnie-small", "candy", "mosaic"]
