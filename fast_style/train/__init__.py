"""Training path: one feed-forward network per style (Johnson, Alahi & Fei-Fei, ECCV 2016, Sec. 3-4).

``data`` (the photo dataset), ``datamodule`` (its LightningDataModule), ``module`` (the
LightningModule), ``callbacks`` (divergence guard, resumable checkpoints, previews), ``compose``
(where the configs are, configs composed outside ``@hydra.main`` and the ``${loss_default:...}``
resolver), ``prepare`` (what a recipe names, made concrete), ``checks`` (what a run checks before
its first step), ``run`` (the training entry: a composed config in, ``checkpoints/<style>.pth`` out)
and ``train_cli`` (``fast-style-train``). Lightning is
imported here and nowhere in ``infer/`` or ``baseline/``.
"""

from fast_style.train.compose import register_resolvers

# Any use of the training configs goes through this package: the loss group's defaults resolve.
register_resolvers()
