"""One network from the mean of the weights of several checkpoints of one run (stochastic weight averaging).

    python scripts/average_weights.py RUN/lightning_checkpoints/step0000{3,4,5,6}00.ckpt \\
        --card checkpoints/my_run.pth --name my_run_averaged --output checkpoints/my_run_averaged.pth

Izmailov et al., "Averaging Weights Leads to Wider Optima and Better Generalization" (UAI 2018). A run that
sees one painting per step (the arbitrary-style network's fine-tune) swings from checkpoint to checkpoint;
the mean of its checkpoints is at or above the best one (docs/notes/2026-12-06-arbitrary-fine-tune.md).
Weights equal in every checkpoint (a frozen part) are kept bit for bit.

Takes Lightning ``.ckpt`` files and slim ``.pth`` files of one network. The output is an ordinary slim
checkpoint: every command and ``scripts/zoo.py add`` take it. Its card is that of ``--card`` (default: the
first checkpoint; a slim file of the run says the most: its lineage, machine and losses) under the name
``--name``; its config records the files averaged. No Lightning, no Hydra.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from fast_style.cli import command


@command
def main(argv: list[str] | None = None) -> int:
    import dataclasses

    from fast_style.checkpoint import (
        StyleCheckpoint,
        model_from_checkpoint,
        read_checkpoint,
        save_inference_checkpoint,
    )
    from fast_style.errors import InputFileError, InvalidValueError
    from fast_style.models.surgery import average_weights
    from fast_style.zoo.spec import is_network_name

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", help="two or more checkpoints of one network (.ckpt or .pth)")
    parser.add_argument("--output", required=True, help="the averaged network's slim checkpoint (.pth)")
    parser.add_argument("--card", help="slim checkpoint whose card the output takes (default: the first checkpoint's)")
    parser.add_argument("--name", help="the output network's style name (default: the card's)")
    parser.add_argument("--overwrite", action="store_true", help="replace --output if it exists")
    args = parser.parse_args(argv)

    output = Path(args.output)
    inputs = [Path(path) for path in args.checkpoints]
    for path in [*inputs, *([Path(args.card)] if args.card else [])]:
        if not path.is_file():
            raise InputFileError(f"checkpoint {str(path)!r} does not exist")
    if output.suffix != ".pth":
        raise InvalidValueError(f"--output {str(output)!r}: the averaged network is a slim checkpoint, NAME.pth")
    if output.exists() and (not args.overwrite or any(output.resolve() == path.resolve() for path in inputs)):
        what = "one of the checkpoints averaged" if args.overwrite else "it exists (--overwrite replaces it)"
        raise InvalidValueError(f"--output {str(output)!r} is {what}")
    checkpoints = [read_checkpoint(path) for path in inputs]
    source = read_checkpoint(args.card) if args.card else checkpoints[0]
    style = args.name or source.style
    if style is None or not is_network_name(style):
        raise InvalidValueError(f"--name {style!r}: a style name is letters, digits and _ (NAME or NAME-VARIANT)")
    print(f"averaging {len(checkpoints)} checkpoints of {source.model_args.get('family', 'transformer')} "
          f"network {source.style!r}: {', '.join(path.name for path in inputs)}")
    state = average_weights([checkpoint.state_dict for checkpoint in checkpoints])
    card = source.card.renamed(style)
    # Built (and so checked against the card's layout) before anything is written.
    network = model_from_checkpoint(StyleCheckpoint(output, "inference", card, state))
    unchanged = sum(1 for key, value in state.items() if value.equal(checkpoints[0].state_dict[key]))
    config = {**source.config, "averaged_from": [str(path) for path in inputs]}
    written = save_inference_checkpoint(network, output, style, config=config,
                                        card=dataclasses.replace(card, zoo=None))
    print(f"wrote {written}: the mean of {len(checkpoints)} checkpoints ({len(state) - unchanged} tensors changed, "
          f"{unchanged} as in the first)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
