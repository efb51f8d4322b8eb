"""Baseline path: Gatys, Ecker & Bethge (CVPR 2016) optimisation on the training loss, and the comparison.

``gatys`` (the optimisation), ``compare`` (feed-forward network against it, the data),
``report`` (the report's text and figures) and ``tune`` (style-weight sweeps on Gatys previews).
No Lightning, no Hydra.
"""
