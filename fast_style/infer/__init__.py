"""Inference path: stylise photos and videos with a trained network; no Lightning, no Hydra.

``stylize`` (``load_model``/``stylize``), ``fast_forward`` (the exact fast CPU engine) and
``tiling`` (bounded memory at any size), ``export`` (ONNX/TorchScript), ``stylize_cli`` and
``export_cli`` (the ``stylize.py`` and ``export.py`` commands), ``video``/``video_cli`` (clips,
with flicker control), ``video_synth`` (test clips from photos) and ``app/`` (the web page).
Which network a name or path means is the zoo's to say (:func:`fast_style.zoo.resolve`).
"""
