"""fast_style: feed-forward neural style transfer.

Johnson, Alahi & Fei-Fei, "Perceptual Losses for Real-Time Style Transfer and
Super-Resolution", ECCV 2016 (arXiv 1603.08155), with the optimisation method of
Gatys, Ecker & Bethge (CVPR 2016) kept as the baseline.

Images are float tensors in [0, 1] of shape (B, 3, H, W) at every public boundary.
Importing this package is cheap: Lightning and Hydra are only imported by the modules
that need them (``fast_style.module``, ``fast_style.datamodule``, ``fast_style.training``, the scripts).
"""

__version__ = "0.1.0"
