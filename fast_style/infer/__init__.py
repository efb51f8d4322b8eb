"""Inference path: stylise photos and videos with a trained network; no Lightning, no Hydra.

``stylize`` (``load_model``/``stylize``), ``fast_forward`` (the exact fast CPU engine) and
``tiling`` (bounded memory at any size), ``export`` (ONNX/TorchScript), ``cli`` (the
``stylize.py`` command), ``video``/``video_cli`` (clips, with flicker control), ``video_synth``
(test clips from photos) and ``app/`` (the web page).
"""
