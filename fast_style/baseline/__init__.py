"""Baseline path: Gatys, Ecker & Bethge (CVPR 2016) optimisation on the training loss, and the comparison.

``gatys`` (the optimisation and its settings, :class:`~fast_style.baseline.gatys.GatysSettings`),
``compare`` (feed-forward network against it, the data), ``curves`` (Gatys curves kept on disk),
``report`` (the report's text and figures), ``tune`` (style-weight sweeps on Gatys previews), and the
commands' pieces (``gatys_cli``, ``compare_cli``, ``style_args``: ``--style-config``/``--style-image``).
No Lightning, no Hydra.
"""
