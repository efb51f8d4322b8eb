"""Inference path: stylise photos and videos with a trained network; no Lightning, no Hydra.

``stylize`` (``load_model``/``stylize``), ``fast_forward`` (the exact fast CPU engine, with
bounded memory at any size: ``stylize(strip_size=N)``), ``export`` (ONNX/TorchScript),
``stylize_cli``/``export_cli`` (the ``stylize.py``/``export.py`` commands), ``video``/``video_cli``
(clips, with flicker control) and ``app/`` (the web page).
Which network a name or path means is the zoo's to say (:func:`fast_style.zoo.resolve`).
"""
