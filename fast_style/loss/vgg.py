"""Frozen VGG feature extractor for the perceptual loss.

Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image
Recognition", ICLR 2015; used as the loss network by Gatys et al. (CVPR 2016) and
Johnson et al. (ECCV 2016, Sec. 3.3 — VGG16, relu2_2 for content, relu1_2, relu2_2,
relu3_3, relu4_3 for style).

Layers are addressed by name: ``conv{block}_{n}``, ``relu{block}_{n}``, ``pool{block}``.
The encoder is trimmed after the deepest layer it is asked for, frozen, and normalises
its [0, 1] RGB input itself for the convention its weights were trained in.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from fast_style.assets import DEFAULT_VGG_WEIGHTS, resolve_asset
from fast_style.errors import InvalidValueError, MissingFileError

ARCHS = ("vgg16", "vgg19")
# Convolutions per block (torchvision's configs "D" and "E").
_BLOCK_CONVS = {"vgg16": (2, 2, 3, 3, 3), "vgg19": (2, 2, 4, 4, 4)}
WEIGHT_SPECS = "'default' (the mirrored caffe VGG16), 'torchvision', 'random', or a path to a .pth file"


@dataclass(frozen=True)
class InputConvention:
    """How [0, 1] RGB images are turned into the input the VGG weights were trained on.

    ``x' = (x[order] * scale - mean) / std`` with ``order`` (0, 1, 2) for RGB or (2, 1, 0)
    for BGR; ``mean`` and ``std`` are given in the weights' own channel order.
    """

    name: str
    bgr: bool
    scale: float
    mean: tuple[float, float, float]
    std: tuple[float, float, float]


CAFFE = InputConvention("caffe", bgr=True, scale=255.0, mean=(103.939, 116.779, 123.68), std=(1.0, 1.0, 1.0))
TORCHVISION = InputConvention(
    "torchvision", bgr=False, scale=1.0, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)
)


def layer_names(arch: str = "vgg16") -> list[str]:
    """Names of the layers of ``torchvision.models.<arch>().features``, in order.

    Example: ``layer_names("vgg16")[:5] == ["conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1"]``.
    """
    if arch not in _BLOCK_CONVS:
        raise InvalidValueError(f"unknown VGG architecture {arch!r}; allowed: {', '.join(ARCHS)}")
    names = []
    for block, convs in enumerate(_BLOCK_CONVS[arch], start=1):
        for n in range(1, convs + 1):
            names += [f"conv{block}_{n}", f"relu{block}_{n}"]
        names.append(f"pool{block}")
    return names


def convention_from_meta(meta: dict) -> InputConvention:
    """Read the input convention a weights file declares in its ``meta``.

    Accepts ``{"convention": "caffe"|"torchvision"}`` or the mirror's explicit fields
    (``channel_order``, ``scale``, ``mean_bgr``/``mean``, optional ``std``).

    Raises:
        ValueError: if the meta names no usable convention.
    """
    named = meta.get("convention")
    if named in ("caffe", "torchvision"):
        return CAFFE if named == "caffe" else TORCHVISION
    order = str(meta.get("channel_order", "")).upper()
    if order in ("BGR", "RGB") and "scale" in meta:
        bgr = order == "BGR"
        mean = meta.get("mean_bgr" if bgr else "mean_rgb", meta.get("mean"))
        std = meta.get("std", (1.0, 1.0, 1.0))
        if mean is not None and len(mean) == 3:
            return InputConvention(
                "caffe" if bgr else "custom", bgr, float(meta["scale"]), tuple(map(float, mean)), tuple(map(float, std))
            )
    if "caffe" in str(meta.get("input", "")).lower():
        return CAFFE
    raise InvalidValueError(
        f"VGG weights meta does not say its input convention (got keys {sorted(meta)}); "
        "expected 'convention': 'caffe'|'torchvision' or channel_order/scale/mean fields"
    )


class VGGEncoder(nn.Module):
    """Frozen, trimmed VGG returning named activations.

    Args:
        layers: names of the layers that may be requested (e.g. ``["relu1_2", "relu2_2"]``);
            the network is cut after the deepest one.
        arch: ``"vgg16"`` or ``"vgg19"``.
        weights: ``"default"`` (the mirrored caffe-convention VGG16, found as the asset
            ``weights/vgg16_imagenet_caffe.pth``), ``"torchvision"`` (IMAGENET1K_V1 through the
            torch hub cache; downloads when online), ``"random"`` (only for tests that ask for
            it), or a path to a ``{"meta", "state_dict"}`` file.
        pool: ``"max"`` (default) or ``"avg"`` (Gatys et al. found average pooling gives
            slightly smoother results).

    Shapes:
        forward: (B, 3, H, W) RGB in [0, 1] → dict of name → (B, C_layer, H_layer, W_layer).
    """

    def __init__(
        self,
        layers: Sequence[str],
        arch: str = "vgg16",
        weights: str | os.PathLike = "default",
        pool: str = "max",
    ) -> None:
        super().__init__()
        all_names = layer_names(arch)
        layers = list(dict.fromkeys(layers))
        if not layers:
            raise InvalidValueError("VGGEncoder needs at least one layer name")
        unknown = [name for name in layers if name not in all_names]
        if unknown:
            raise InvalidValueError(f"unknown VGG layer(s) {unknown} for {arch}; allowed: {', '.join(all_names)}")
        if pool not in ("max", "avg"):
            raise InvalidValueError(f"unknown pool {pool!r}; allowed: max, avg")
        self.arch = arch
        self.layers = layers
        depth = max(all_names.index(name) for name in layers) + 1
        self.names = all_names[:depth]

        state_dict, convention, source = _load_weights(arch, weights)
        self.weights_source = source
        self.convention = convention
        features = _features(arch, depth)
        if pool == "avg":
            for index, name in enumerate(self.names):
                if name.startswith("pool"):
                    features[index] = nn.AvgPool2d(2, 2)
        if state_dict is not None:
            _load_trimmed(features, state_dict, source)
        self.features = features
        self.features.requires_grad_(False)
        self.eval()

        order = [2, 1, 0] if convention.bgr else [0, 1, 2]
        # Fold channel order, scale, mean and std into one per-channel affine map.
        self.register_buffer("_order", torch.tensor(order), persistent=False)
        self.register_buffer(
            "_scale", (convention.scale / torch.tensor(convention.std)).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "_shift", (torch.tensor(convention.mean) / torch.tensor(convention.std)).view(1, 3, 1, 1), persistent=False
        )

    def train(self, mode: bool = True) -> VGGEncoder:
        """The encoder always stays in eval mode (it is a fixed loss network)."""
        return super().train(False)

    def normalize(self, images: Tensor) -> Tensor:
        """Map (B, 3, H, W) RGB in [0, 1] to the weights' input convention (a new tensor)."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"VGGEncoder expects (B, 3, H, W) images, got shape {tuple(images.shape)}")
        return images.index_select(1, self._order) * self._scale - self._shift

    def forward(self, images: Tensor, layers: Iterable[str] | None = None) -> dict[str, Tensor]:
        """Activations at ``layers`` (default: all layers given at construction).

        Only the VGG layers up to the deepest requested one are run, so a caller that needs
        ``relu2_2`` alone pays for four convolutions, not thirteen.

        Args:
            images: (B, 3, H, W) RGB in [0, 1]; never modified.
            layers: names to return; each must be one of the names given at construction.

        Returns:
            Dict of layer name → (B, C, H', W') activation.
        """
        wanted = list(self.layers if layers is None else layers)
        missing = [name for name in wanted if name not in self.names]
        if missing:
            raise ValueError(f"layer(s) {missing} were not requested at construction; available: {self.names}")
        if not wanted:
            return {}
        last = max(self.names.index(name) for name in wanted)
        wanted_set = set(wanted)
        out: dict[str, Tensor] = {}
        x = self.normalize(images)
        for index in range(last + 1):
            x = self.features[index](x)
            name = self.names[index]
            if name in wanted_set:
                out[name] = x
        return out


def _features(arch: str, depth: int) -> nn.Sequential:
    """The first ``depth`` layers of ``torchvision.models.<arch>().features``, same indices and shapes.

    Built here rather than by cutting ``torchvision.models.<arch>()``: that would also build and
    initialise the 120M-parameter classifier only to throw it away (over a second per encoder).
    Random weights are initialised as torchvision does (He et al. 2015, fan-out; zero biases).
    """
    layers: list[nn.Module] = []
    channels = 3
    for block, convs in enumerate(_BLOCK_CONVS[arch]):
        width = min(64 * 2**block, 512)
        for _ in range(convs):
            conv = nn.Conv2d(channels, width, kernel_size=3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode="fan_out", nonlinearity="relu")
            nn.init.zeros_(conv.bias)
            # Returned activations must not be overwritten by a later in-place op.
            layers += [conv, nn.ReLU(inplace=False)]
            channels = width
        layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
    return nn.Sequential(*layers[:depth])


def _load_weights(arch: str, weights: str | os.PathLike) -> tuple[dict | None, InputConvention, str]:
    """Return (state_dict of ``features`` without prefix, convention, description)."""
    spec = str(weights)
    if spec == "random":
        # Random weights are only ever used when asked for by name (tests, experiments).
        return None, TORCHVISION, "random"
    if spec == "torchvision":
        return _torchvision_pretrained(arch), TORCHVISION, "torchvision IMAGENET1K_V1"
    if spec == "default":
        if arch != "vgg16":
            raise InvalidValueError(
                f"weights='default' is the mirrored VGG16; for {arch} pass weights='torchvision' or a file path"
            )
        path = resolve_asset(DEFAULT_VGG_WEIGHTS)
    else:
        path = Path(spec).expanduser()
        if not path.is_file():
            raise MissingFileError(f"VGG weights file {spec!r} does not exist; weights must be {WEIGHT_SPECS}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:
        raise InvalidValueError(f"cannot read VGG weights {str(path)!r}: {error}") from error
    if not isinstance(payload, dict) or "state_dict" not in payload:
        raise InvalidValueError(f"VGG weights {str(path)!r} must be a dict with 'meta' and 'state_dict'")
    meta = payload.get("meta", {})
    if meta.get("arch", arch) != arch:
        raise InvalidValueError(f"VGG weights {str(path)!r} are for {meta['arch']!r}, but arch={arch!r} was requested")
    convention = convention_from_meta(meta) if meta else CAFFE
    state = {key.removeprefix("features."): value for key, value in payload["state_dict"].items()}
    return state, convention, str(path)


def _torchvision_pretrained(arch: str) -> dict:
    import torchvision

    enum = {"vgg16": torchvision.models.VGG16_Weights, "vgg19": torchvision.models.VGG19_Weights}[arch]
    try:
        model = getattr(torchvision.models, arch)(weights=enum.IMAGENET1K_V1)
    except Exception as error:
        raise RuntimeError(
            f"could not load torchvision's {arch} IMAGENET1K_V1 weights (not in the torch hub cache "
            f"{torch.hub.get_dir()!r} and the download failed: {error}); use weights='default' with "
            "FAST_STYLE_ASSETS set, or a path to a weights file"
        ) from error
    return model.features.state_dict()


def _load_trimmed(features: nn.Sequential, state_dict: dict, source: str) -> None:
    expected = features.state_dict().keys()
    missing = [key for key in expected if key not in state_dict]
    if missing:
        raise InvalidValueError(f"VGG weights {source!r} lack parameters {missing[:4]}{'…' if len(missing) > 4 else ''}")
    for key in expected:
        if state_dict[key].shape != features.state_dict()[key].shape:
            raise InvalidValueError(
                f"VGG weights {source!r}: {key} has shape {tuple(state_dict[key].shape)}, "
                f"expected {tuple(features.state_dict()[key].shape)}"
            )
    features.load_state_dict({key: state_dict[key] for key in expected})
