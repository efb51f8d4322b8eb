"""Weight surgery on a :class:`~fast_style.models.transformer.TransformerNet`: new networks from its tensors.

A multi-style network (conditional instance norm: Dumoulin, Shlens & Kudlur, ICLR 2017) folds a
style or a blend into an ordinary one-style network (:func:`fold_style`) and grows or reorders its
styles (:func:`with_styles`); an embedding-conditioned one (Ghiasi et al., BMVC 2017) folds one
painting's embedding (:func:`fold_embedding`). The folded networks share the convolutions' tensors
(not copies), so every inference path (fast engine, tiling, export, video, web page) runs them as
any one-style network. :func:`recenter_block_phases` is the distillation fix of a space-to-depth
head, which edits a network in place; :func:`widen` grows a network's width keeping its function
(Net2Net), so that a small start can train with more capacity; :func:`average_weights` is the mean of
several checkpoints of one run (stochastic weight averaging). Pure torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence

import torch
from torch import Tensor, nn

from fast_style.errors import InvalidValueError
from fast_style.models.conditional_norm import ConditionalInstanceNorm2d, EmbeddingInstanceNorm2d, StyleChoice
from fast_style.models.transformer import TransformerNet


def fold_style(net: TransformerNet, style: StyleChoice) -> TransformerNet:
    """The one-style network of ``style`` (a style or a blend of ``net``'s styles).

    Its convolutions are ``net``'s own tensors (shared, not copied); its norms hold
    ``weights @ γ`` and ``weights @ β``, so its output equals ``net(images, style=style)``.

    Raises:
        InvalidValueError: a one-style network, or a style ``net`` does not hold.
    """
    weights = net.style_vector(style)
    if weights.dim() != 1:
        raise InvalidValueError("fold_style takes one style or blend for every image, not per-image weights")
    return _rebuilt(net, TransformerNet(**net.architecture_args), lambda table: weights.to(table.dtype) @ table)


def with_styles(net: TransformerNet, names: Sequence[str],
                init: Mapping[str, StyleChoice] | None = None) -> TransformerNet:
    """A network with ``net``'s convolutions (shared) and the styles ``names``, each with its own γ, β.

    Each row is copied from ``init[name]`` (a style or blend of ``net``) if given, else from
    ``net``'s style of the same name, else from the mean of its rows (a one-style network has one
    row). Used to warm-start a multi-style network from a trained one and to add a new style to a
    shared network.

    Raises:
        InvalidValueError: fewer than two names, a repeated or bad name, or an ``init`` ``net`` does
            not hold.
    """
    target = TransformerNet(**net.architecture_args, styles=list(names))
    own = list(net.style_names)
    sources = []
    for name in target.style_names:
        choice = (init or {}).get(name, name if name in own else None)
        if choice is None or not own:
            sources.append(torch.full((net.num_styles,), 1.0 / net.num_styles))
        else:
            sources.append(net.style_vector(choice))
    mix = torch.stack(sources)
    return _rebuilt(net, target, lambda table: mix.to(table.dtype) @ (table if table.dim() == 2 else table[None]))


@torch.no_grad()
def fold_embedding(net: TransformerNet, embedding: Tensor) -> TransformerNet:
    """The one-style network of a style embedding: Ghiasi et al.'s network folded for one painting.

    Each :class:`EmbeddingInstanceNorm2d` becomes a plain ``nn.InstanceNorm2d(affine=True)``
    holding γ(embedding), β(embedding); the convolutions are ``net``'s own tensors (shared, not
    copied). Its output equals ``net(images, embedding=embedding)``.

    Args:
        net: an embedding-conditioned network (``embedding_dim``).
        embedding: (E,) or (1, E).

    Raises:
        InvalidValueError: a network without ``embedding_dim``, or an embedding of another shape.
    """
    if net.embedding_dim is None:
        raise InvalidValueError("fold_embedding needs an embedding-conditioned network (embedding_dim)")
    embedding = net.checked_embedding(embedding, 1)
    args = {key: value for key, value in net.architecture_args.items() if key != "embedding_dim"}
    target = TransformerNet(**args)
    state = {}
    norms = {name: module for name, module in net.named_modules() if isinstance(module, EmbeddingInstanceNorm2d)}
    for key, value in net.state_dict(keep_vars=True).items():
        owner = key.rsplit(".", 2)[0]
        if owner not in norms:
            state[key] = value
        elif key.endswith("gamma.weight"):
            gamma, beta = norms[owner].affine(embedding.to(value.device))
            state[f"{owner}.weight"], state[f"{owner}.bias"] = nn.Parameter(gamma[0]), nn.Parameter(beta[0])
    target.load_state_dict(state, assign=True)
    return target.train(net.training)


def _rebuilt(source: TransformerNet, target: TransformerNet, norm_rows: Callable[[Tensor], Tensor]) -> TransformerNet:
    """``target`` holding ``source``'s tensors, with its norm tables computed by ``norm_rows``."""
    state = {}
    norm_keys = {f"{name}.{key}" for name, module in source.named_modules()
                 if isinstance(module, (nn.InstanceNorm2d, ConditionalInstanceNorm2d)) for key in ("weight", "bias")}
    for key, value in source.state_dict(keep_vars=True).items():
        if key in norm_keys:
            value = nn.Parameter(norm_rows(value.detach()), requires_grad=value.requires_grad)
        state[key] = value
    target.load_state_dict(state, assign=True)
    target.train(source.training)
    return target


@torch.no_grad()
def recenter_block_phases(net: TransformerNet, photos: Iterable[Tensor]) -> Tensor:
    """Shift the head's bias, in place, so that the four pixels of a 2×2 block have one mean per colour.

    A space-to-depth head makes each pixel of a 2×2 block from its own output channel, so a
    network can paint a fixed 2-pixel grain; a Gram style loss rewards its energy (a student
    fine-tuned on the perceptual loss learned up to ±22/255). The grain is the same on every photo,
    so its mean pre-activation per (colour, block position) over ``photos`` is subtracted from the
    bias, each colour keeping its mean; what depends on the photo is untouched.

    Args:
        net: a network with a space-to-depth head (``space_to_depth=True``).
        photos: batches (B, 3, H, W) in [0, 1], e.g. training crops.

    Returns:
        The (3, 4) shift subtracted (colour × block position, row-major).

    Raises:
        InvalidValueError: for a network without a space-to-depth head, or no photos.
    """
    if not net.space_to_depth:
        raise InvalidValueError("only a space-to-depth head (space_to_depth=True) makes 2×2 block phases")
    means: list[Tensor] = []
    hook = net.head.register_forward_hook(lambda _module, _inputs, output: means.append(output.mean((0, 2, 3))))
    try:
        for batch in photos:
            net.forward_layers(batch)
    finally:
        hook.remove()
    if not means:
        raise InvalidValueError("recenter_block_phases needs at least one batch of photos")
    phases = torch.stack(means).mean(0).view(3, 4)
    shift = phases - phases.mean(1, keepdim=True)
    bias = net.head.conv.bias
    bias.sub_(shift.flatten().to(bias))
    return shift


@torch.no_grad()
def widen(net: TransformerNet, factor: int, noise: float = 0.0, generator: torch.Generator | None = None
          ) -> TransformerNet:
    """A ``factor`` times wider one-style network computing the same function (Net2WiderNet).

    Chen, Goodfellow & Shlens, "Net2Net" (ICLR 2016), Sec. 2.1: every hidden channel is repeated
    ``factor`` times and each layer's weights from the repeated channels are divided by ``factor``,
    so the sums, the instance norms (a repeated channel has the same mean and variance) and the
    residual additions are unchanged. Copies of a channel would get equal gradients for ever, so
    ``noise`` (relative to each weight tensor's standard deviation) is added to every copy but the
    first: the function then changes by about that much. The image channels in and out stay 3.

    Args:
        net: a one-style network with plain convolutions (no conditional norms, no separable
            residuals, no space-to-depth head).
        factor: how many times wider (1 returns a copy).
        noise: relative standard deviation of the symmetry-breaking noise (0: exact).
        generator: the noise's random generator (seeded runs).

    Raises:
        InvalidValueError: a factor below 1, or a network this cannot widen.
    """
    if isinstance(factor, bool) or not isinstance(factor, int) or factor < 1:
        raise InvalidValueError(f"widen factor must be a whole number >= 1, got {factor!r}")
    args = dict(net.architecture_args)
    unsupported = [key for key in ("embedding_dim", "separable_residuals", "space_to_depth") if args.get(key)]
    unsupported += ["styles"] * bool(net.style_names) + [f"norm={args['norm']}"] * (args["norm"] != "instance")
    if unsupported:
        raise InvalidValueError(f"widen takes a one-style network of plain convolutions; this one has {unsupported}")
    target = TransformerNet(**{**args, "width": int(args.get("width", 32)) * factor})
    ours = dict(net.named_modules())
    state = {}
    for name, module in target.named_modules():
        source = ours[name]
        if isinstance(module, nn.Conv2d):
            out_times = module.out_channels // source.out_channels
            in_times = module.in_channels // source.in_channels
            weight = source.weight.repeat(out_times, in_times, 1, 1) / in_times
            if noise and out_times > 1:
                copies = weight[source.out_channels:]
                scale = noise * float(source.weight.std())
                copies += scale * torch.randn(copies.shape, generator=generator, dtype=copies.dtype)
            state[f"{name}.weight"] = weight
            if source.bias is not None:
                state[f"{name}.bias"] = source.bias.repeat(out_times)
        elif isinstance(module, nn.InstanceNorm2d) and module.affine:
            times = module.num_features // source.num_features
            state[f"{name}.weight"], state[f"{name}.bias"] = source.weight.repeat(times), source.bias.repeat(times)
    target.load_state_dict(state)
    return target.train(net.training)


def average_weights(states: Sequence[Mapping[str, Tensor]]) -> dict[str, Tensor]:
    """The mean of several state dicts of one network: stochastic weight averaging of a run's checkpoints.

    Izmailov, Podoprikhin, Garipov, Vetrov & Wilson, "Averaging Weights Leads to Wider Optima and Better
    Generalization" (UAI 2018): the mean of the weights along one run's trajectory generalises better than
    any single point of it. One painting per step makes the arbitrary network's fine-tune swing from checkpoint
    to checkpoint (docs/notes/2026-12-06-arbitrary-fine-tune.md); the mean is at or above the best one.

    A tensor equal in every state (a frozen part: the style predictor, the stored embeddings) is kept as it
    is, bit for bit, whatever the arithmetic would make of it. Other floating tensors are averaged in
    float64 and stored in their own dtype; a non-floating tensor (a counter) must be equal in every state.

    Args:
        states: two or more state dicts with the same keys, shapes and dtypes.

    Returns:
        The averaged state dict (new tensors; the inputs are untouched).

    Raises:
        InvalidValueError: fewer than two states, or states of different networks (keys, shapes, dtypes),
            or a non-floating tensor that differs.
    """
    if len(states) < 2:
        raise InvalidValueError(f"averaging takes two or more checkpoints of one run, got {len(states)}")
    first = states[0]
    for number, state in enumerate(states[1:], start=2):
        if set(state) != set(first):
            differing = sorted(set(state) ^ set(first))
            raise InvalidValueError(f"checkpoint {number} holds another network than the first: weights differ at "
                                    f"{', '.join(differing[:3])}")
        for key, value in state.items():
            if value.shape != first[key].shape or value.dtype != first[key].dtype:
                raise InvalidValueError(f"checkpoint {number} holds another network than the first: {key!r} is "
                                        f"{tuple(value.shape)} {value.dtype}, the first's {tuple(first[key].shape)} "
                                        f"{first[key].dtype}")
    averaged = {}
    for key, value in first.items():
        if all(torch.equal(value, state[key]) for state in states[1:]):
            averaged[key] = value.detach().clone()
        elif not value.is_floating_point():
            raise InvalidValueError(f"{key!r} ({value.dtype}) differs between the checkpoints; only floating "
                                    "weights are averaged")
        else:
            total = torch.stack([state[key].detach().double() for state in states]).mean(dim=0)
            averaged[key] = total.to(value.dtype)
    return averaged


__all__ = ["average_weights", "fold_embedding", "fold_style", "recenter_block_phases", "widen", "with_styles"]
