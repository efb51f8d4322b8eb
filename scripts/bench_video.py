"""Benchmark video stylisation: frames/s, flicker with and without smoothing, the cut, memory vs length.

    python scripts/bench_video.py --output bench_video           # everything (about 15 min on 2 cores)
    python scripts/bench_video.py --only speed --seconds 2       # a quick look

Clips are made from the mirrored COCO photos (no video is mirrored): one slow pan-and-zoom shot
per photo, a hard cut between shots, an AAC tone (:mod:`fast_style.video_synth`). Run it with
nothing else on the machine: frames/s are wall-clock.

- ``speed``: frames/s at 480p and 720p for the shipped network (``--style``, the default
  model) and an untrained ``model=small`` network (configs/model/small.yaml; speed only).
- ``flicker``: a 10-second 720p clip with sound (two 5-second shots, one cut) stylised with
  ``--temporal-smoothing`` 0 and each ``--alphas`` value; flicker = mean |Δ output| / mean |Δ input|
  between consecutive frames (the cut left out); the cut is checked for smear by stylising the
  frames around it with cut detection off and comparing the first frame after the cut with the
  unsmoothed one. Writes ``frames.jpg`` (input, alpha 0, the largest alpha; frames before and
  after the cut) and keeps the stylised clip.
- ``memory``: peak resident memory of ``scripts/stylize_video.py`` (whole process, from the
  kernel's rusage) on 1080p clips of ``--memory-seconds`` lengths, stylised at ``--max-size 320``
  so that the long clip finishes in minutes; the decoder still reads every 1080p frame.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
SCRIPT = REPO_ROOT / "scripts" / "stylize_video.py"
PHOTOS = ("000000000139.jpg", "000000000632.jpg")  # one indoor, one outdoor shot, COCO val2017


def _photos() -> list[Path]:
    from fast_style.assets import resolve_path_or_asset

    folder = Path(resolve_path_or_asset("coco/val2017"))
    return [folder / name for name in PHOTOS]


def _small_model() -> torch.nn.Module:
    from omegaconf import OmegaConf

    from fast_style.models import TransformerNet

    torch.manual_seed(0)
    return TransformerNet(**OmegaConf.to_container(OmegaConf.load(REPO_ROOT / "configs" / "model" / "small.yaml"))).eval()


def speed(style: str, folder: Path, seconds: float) -> list[dict]:
    """Frames/s of stylize_video at 480p and 720p for the shipped network and model=small."""
    from fast_style.stylize import load_model
    from fast_style.video import stylize_video
    from fast_style.video_synth import make_clip

    rows = []
    for label, (width, height) in {"480p": (854, 480), "720p": (1280, 720)}.items():
        clip = make_clip(_photos()[:1], folder / f"speed_{label}.mp4", width=width, height=height,
                         seconds_per_shot=seconds, tone_hz=None)
        for model_name, model in ((f"{style} (default model)", load_model(style)), ("model=small", _small_model())):
            stylize_video(model, clip, folder / "warmup.mp4", duration=0.2)  # first-call costs out of the timing
            started = time.perf_counter()
            result = stylize_video(model, clip, folder / f"speed_{label}_out.mp4")
            elapsed = time.perf_counter() - started
            rows.append({"size": label, "model": model_name, "frames": result.frames,
                         "frames_per_s": round(result.frames / elapsed, 2)})
            print(rows[-1], flush=True)
    return rows


def flicker(style: str, folder: Path, alphas: list[float], shot_seconds: float) -> dict:
    """Flicker with and without smoothing on a 720p clip of two shots with sound, and the cut's smear."""
    from fast_style.sheets import contact_sheet, save_sheet
    from fast_style.stylize import load_model
    from fast_style.video import stylize_video
    from fast_style.video_synth import make_clip

    clip = make_clip(_photos(), folder / "demo_720p.mp4", width=1280, height=720, fps=25, seconds_per_shot=shot_seconds)
    model = load_model(style)
    runs = {}
    for alpha in [0.0, *alphas]:
        started = time.perf_counter()
        result = stylize_video(model, clip, folder / f"demo_{style}_alpha{alpha:g}.mp4", temporal_smoothing=alpha)
        runs[alpha] = {"flicker": round(result.flicker, 3), "frames": result.frames, "cuts": result.cuts,
                       "duration_s": result.duration, "audio": result.audio,
                       "frames_per_s": round(result.frames / (time.perf_counter() - started), 2)}
        print(alpha, runs[alpha], flush=True)
    strongest = max(alphas)
    cut = runs[0.0]["cuts"][0]
    # The frames around the cut, smoothed with and without cut detection, against the unsmoothed ones.
    window = {"start": (cut - 5) / 25, "duration": 10 / 25}
    smeared = stylize_video(model, clip, folder / "smear.mp4", temporal_smoothing=strongest, cut_threshold=float("inf"),
                            **window)
    reset = stylize_video(model, clip, folder / "reset.mp4", temporal_smoothing=strongest, **window)
    plain = stylize_video(model, clip, folder / "plain.mp4", **window)
    frames = {name: _frames(run.path) for name, run in (("smeared", smeared), ("reset", reset), ("plain", plain))}
    after = 5  # index of the first frame after the cut inside the window
    smear = {name: round(float((frames[name][after] - frames["plain"][after]).abs().mean()), 4)
             for name in ("smeared", "reset")}
    source = _frames(clip)
    pick = [cut - 1, cut, min(cut + 40, len(source) - 1)]
    styled = {alpha: _frames(folder / f"demo_{style}_alpha{alpha:g}.mp4") for alpha in (0.0, strongest)}
    rows = [("input: the last frame before the cut, the first after it, 40 frames later", [source[i] for i in pick])]
    rows += [(f"temporal smoothing alpha {alpha:g}", [styled[alpha][i] for i in pick]) for alpha in styled]
    save_sheet(contact_sheet(rows, tile=320), folder / "frames.jpg")
    return {"clip": f"1280x720, 25 fps, {2 * shot_seconds:g} s, 2 shots (cut at frame {cut}), AAC tone", "runs": runs,
            "cut_frame_difference_vs_unsmoothed": smear}


def _frames(path: Path) -> torch.Tensor:
    import av

    with av.open(str(path)) as container:
        return torch.stack([torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255
                            for f in container.decode(video=0)])


def memory(style: str, folder: Path, lengths: list[float]) -> list[dict]:
    """Peak RSS of the CLI on 1080p clips of several lengths (each run in its own process)."""
    from fast_style.video_synth import make_clip

    rows = []
    for seconds in lengths:
        clip = make_clip(_photos(), folder / f"memory_{seconds:g}s.mp4", width=1920, height=1080,
                         seconds_per_shot=seconds / 2)
        process = subprocess.Popen([sys.executable, str(SCRIPT), "--style", style, "--input", str(clip), "--output",
                                    str(folder / "memory_out.mp4"), "--overwrite", "--max-size", "320", "--quiet"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(process.stderr.read().decode()[-2000:])
        rows.append({"clip_seconds": seconds, "input": "1920x1080", "max_size": 320,
                     "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)})
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="candy", help="shipped style (default candy)")
    parser.add_argument("--output", default="bench_video", help="folder for clips and results (default bench_video)")
    parser.add_argument("--only", choices=("speed", "flicker", "memory"), nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length for the speed runs (default 4)")
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.5, 0.9], help="smoothing alphas to measure")
    parser.add_argument("--shot-seconds", type=float, default=5.0, help="each shot of the flicker clip (default 5)")
    parser.add_argument("--memory-seconds", type=float, nargs="+", default=[10.0, 120.0])
    args = parser.parse_args(argv)
    from fast_style.machine import describe_cpu

    folder = Path(args.output)
    folder.mkdir(parents=True, exist_ok=True)
    parts = args.only or ["speed", "flicker", "memory"]
    results: dict = {"machine": describe_cpu(), "torch_threads": torch.get_num_threads(), "style": args.style}
    print(results, flush=True)
    if "speed" in parts:
        results["speed"] = speed(args.style, folder, args.seconds)
    if "flicker" in parts:
        results["flicker"] = flicker(args.style, folder, args.alphas, args.shot_seconds)
    if "memory" in parts:
        results["memory"] = memory(args.style, folder, args.memory_seconds)
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
