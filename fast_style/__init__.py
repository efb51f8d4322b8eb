"""fast_style: feed-forward neural style transfer.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016 (arXiv 1603.08155), with the optimisation method of
Gatys, Ecker & Bethge (CVPR 2016) kept as the baseline.

The package is the architecture: three paths over a shared base.

- ``train/``: Lightning module, datamodule, callbacks and the training entry;
- ``infer/``: ``load_model``/``stylize``, the fast CPU engine with tiling, export, the CLI,
  video and the web app;
- ``baseline/``: Gatys optimisation, the comparison and its report;
- shared: ``models/`` (the networks), ``loss/`` (VGG, Gram/TV, perceptual loss), ``io``
  (images), ``checkpoint`` (the slim format), ``assets`` (weights, styles, photos),
  ``zoo/`` (the shipped networks), ``atomic``, ``sheets``, ``machine``.

Images are float tensors in [0, 1] of shape (B, 3, H, W) at every public boundary.
Importing this package is cheap; Lightning and Hydra are imported under ``train/`` and by the
scripts only, never by ``infer/`` or ``baseline/``.
"""

__version__ = "0.1.0"
