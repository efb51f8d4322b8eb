"""Benchmark video stylisation: frames/s, flicker with and without the still-blend, the cut, memory vs length.

    python scripts/bench_video.py --output bench_video           # everything (about 12 min on 2 cores)
    python scripts/bench_video.py --only speed --seconds 2       # a quick look

Clips are made from the mirrored COCO photos (no video is mirrored): one slow pan-and-zoom shot
per photo, a hard cut between shots, an AAC tone (``tests/clips.py``). Run it from a checkout, with
nothing else on the machine: frames/s are wall-clock.

- ``speed``: frames/s at 480p and 720p for the shipped network (``--style``, the default
  model) and its small network distilled from it (``<style>-small``), where one is shipped.
- ``flicker``: two 720p clips made the same way, a panning one with sound (two shots of
  ``--shot-seconds``, one cut) and a still-camera one (nothing moves; 3 levels of sensor noise
  per frame), each stylised at ``--flicker-max-size`` with every setting in ``SETTINGS``
  (frames alone, still-blend at two strengths); flicker = mean |Δ output| / mean |Δ input|
  between consecutive frames (the cut left out). The cut is checked for smear: the first frame
  after it, with the blend on, against the same frame stylised alone, with cut detection on
  and off. Then the panning clip is stylised at full 720p with ``--temporal-blend 0.8`` and read
  back (frames, size, duration, streams); ``frames.jpg`` shows frames around the cut.
- ``memory``: peak resident memory of ``scripts/stylize_video.py`` (whole process, from the
  kernel's rusage) on 1080p clips of ``--memory-seconds`` lengths, stylised at
  ``--memory-max-size`` (320) so that the long clip finishes in minutes; the decoder still reads every 1080p frame.
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


def speed(style: str, folder: Path, seconds: float) -> list[dict]:
    """Frames/s of stylize_video at 480p and 720p for the shipped network and its small one, if shipped."""
    from fast_style.infer.stylize import load_model
    from fast_style.infer.video import stylize_video
    from fast_style.zoo import available_styles
    from tests.clips import make_clip

    networks = [style] + ([f"{style}-small"] if f"{style}-small" in available_styles() else [])
    rows = []
    for label, (width, height) in {"480p": (854, 480), "720p": (1280, 720)}.items():
        clip = make_clip(_photos()[:1], folder / f"speed_{label}.mp4", width=width, height=height,
                         seconds_per_shot=seconds, tone_hz=None)
        for model_name in networks:
            model = load_model(model_name)
            stylize_video(model, clip, folder / "warmup.mp4", duration=0.2)  # first-call costs out of the timing
            started = time.perf_counter()
            result = stylize_video(model, clip, folder / f"speed_{label}_out.mp4")
            elapsed = time.perf_counter() - started
            rows.append({"size": label, "model": model_name, "frames": result.frames,
                         "frames_per_s": round(result.frames / elapsed, 2)})
            print(rows[-1], flush=True)
    return rows


SETTINGS = {
    "each frame alone": {},
    "--temporal-blend 0.8": {"temporal_blend": 0.8},
    "--temporal-blend 0.95": {"temporal_blend": 0.95},
}


def flicker(style: str, folder: Path, shot_seconds: float, max_size: int) -> dict:
    """Flicker per setting on a panning and a still-camera clip, the cut's smear, and one full 720p demo."""
    from fast_style.infer.stylize import load_model
    from fast_style.infer.video import stylize_video
    from fast_style.sheets import contact_sheet, save_sheet
    from tests.clips import make_clip

    clips = {
        "pan": make_clip(_photos(), folder / "pan_720p.mp4", seconds_per_shot=shot_seconds),
        # A tripod shot: nothing moves, only the sensor noise (3 levels) changes from frame to frame.
        "still": make_clip(_photos(), folder / "still_720p.mp4", seconds_per_shot=shot_seconds / 2, pan=0.0, zoom=1.0,
                           noise=3.0, tone_hz=None),
    }
    model = load_model(style)
    table: dict = {}
    for clip_name, clip in clips.items():
        for label, options in SETTINGS.items():
            result = stylize_video(model, clip, folder / "flicker_out.mp4", max_size=max_size, **options)
            table.setdefault(label, {})[clip_name] = round(result.flicker, 3)
            print(clip_name, label, result.flicker, result.cuts, flush=True)
    # The first frame after the cut, with the blend on, against the frame stylised alone.
    cut = stylize_video(model, clips["pan"], folder / "probe.mp4", max_size=64).cuts[0]
    window = {"start": (cut - 5) / 25, "duration": 10 / 25, "max_size": max_size}
    blend = SETTINGS["--temporal-blend 0.8"]
    runs = {"cut detection on": stylize_video(model, clips["pan"], folder / "reset.mp4", **blend, **window),
            "cut detection off": stylize_video(model, clips["pan"], folder / "smear.mp4", cut_threshold=float("inf"),
                                               **blend, **window),
            "alone": stylize_video(model, clips["pan"], folder / "plain.mp4", **window)}
    after = {name: _frames(run.path)[5] for name, run in runs.items()}
    smear = {name: round(float((after[name] - after["alone"]).abs().mean()), 4)
             for name in ("cut detection on", "cut detection off")}
    print("smear", smear, flush=True)
    # The done-when demo: the 720p clip with sound at full size, read back.
    demo = folder / f"pan_720p_{style}.mp4"
    started = time.perf_counter()
    result = stylize_video(model, clips["pan"], demo, temporal_blend=0.8)
    elapsed = time.perf_counter() - started
    source, styled = _frames(clips["pan"]), _frames(demo)
    pick = [cut - 1, cut, min(cut + 40, len(source) - 1)]
    rows = [("input: the last frame before the cut, the first after it, 40 frames later", [source[i] for i in pick]),
            (f"{style}, --temporal-blend 0.8", [styled[i] for i in pick])]
    save_sheet(contact_sheet(rows, tile=320), folder / "frames.jpg")
    import av

    with av.open(str(demo)) as container:
        read_back = {"frames": len(styled), "size": list(styled.shape[-1:-3:-1]),
                     "seconds": container.duration / 1_000_000,
                     "streams": [s.codec_context.name for s in container.streams]}
    return {"clips": f"1280x720, 25 fps, two shots of {shot_seconds:g} s (pan) / {shot_seconds / 2:g} s (still)",
            "measured_at_max_size": max_size, "flicker": table, "cut_frame_difference_vs_alone": smear,
            "demo": {"file": demo.name, "frames_per_s": round(result.frames / elapsed, 2), **read_back}}


def _frames(path: Path) -> torch.Tensor:
    import av

    with av.open(str(path)) as container:
        return torch.stack([torch.from_numpy(f.to_ndarray(format="rgb24")).permute(2, 0, 1).float() / 255
                            for f in container.decode(video=0)])


def memory(style: str, folder: Path, lengths: list[float], max_size: int) -> list[dict]:
    """Peak RSS of the CLI on 1080p clips of several lengths (each run in its own process)."""
    from tests.clips import make_clip

    rows = []
    for seconds in lengths:
        clip = make_clip(_photos(), folder / f"memory_{seconds:g}s.mp4", width=1920, height=1080,
                         seconds_per_shot=seconds / 2)
        process = subprocess.Popen([sys.executable, str(SCRIPT), "--style", style, "--input", str(clip), "--output",
                                    str(folder / "memory_out.mp4"), "--overwrite", "--max-size", str(max_size), "--quiet"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(process.pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            raise RuntimeError(process.stderr.read().decode()[-2000:])
        rows.append({"clip_seconds": seconds, "input": "1920x1080", "max_size": max_size,
                     "peak_rss_mb": round(usage.ru_maxrss / 1024, 1)})
        print(rows[-1], flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="candy", help="shipped style (default candy)")
    parser.add_argument("--output", default="bench_video", help="folder for clips and results (default bench_video)")
    parser.add_argument("--only", choices=("speed", "flicker", "memory"), nargs="+", default=None)
    parser.add_argument("--seconds", type=float, default=4.0, help="clip length for the speed runs (default 4)")
    parser.add_argument("--flicker-max-size", type=int, default=320, help="frame size of the flicker runs (default 320)")
    parser.add_argument("--shot-seconds", type=float, default=5.0, help="each shot of the flicker clip (default 5)")
    parser.add_argument("--memory-seconds", type=float, nargs="+", default=[10.0, 60.0],
                        help="clip lengths of the memory runs (default 10 60; the issue's pair is 10 600)")
    parser.add_argument("--memory-max-size", type=int, default=320,
                        help="output size of the memory runs: the decoder reads full 1080p frames whatever it is")
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
        results["flicker"] = flicker(args.style, folder, args.shot_seconds, args.flicker_max_size)
    if "memory" in parts:
        results["memory"] = memory(args.style, folder, args.memory_seconds, args.memory_max_size)
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
