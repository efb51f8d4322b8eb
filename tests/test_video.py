"""Video stylisation (fast_style.infer.video, scripts/stylize_video.py) on tiny synthetic clips."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import pytest
import torch

av = pytest.importorskip("av", reason="PyAV is in the 'video' extra, installed by make test")

from fast_style.infer.stylize import stylize  # noqa: E402
from fast_style.infer.video import StillBlend, VideoError, even_size, stylize_video  # noqa: E402
from fast_style.infer.video_cli import main as video_main  # noqa: E402
from tests.clips import make_clip  # noqa: E402


def _photos(folder: Path, count: int = 2) -> list[Path]:
    """Smooth synthetic photos (gradients of different colours) so that cuts are unmistakable."""
    from PIL import Image

    paths = []
    for index in range(count):
        y, x = torch.meshgrid(torch.linspace(0, 1, 90), torch.linspace(0, 1, 120), indexing="ij")
        channels = [x, y, (x + y) / 2] if index % 2 == 0 else [1 - y, 0.2 * x, 1 - x]
        array = (torch.stack(channels, dim=-1) * 255).byte().numpy()
        paths.append(folder / f"shot{index}.png")
        Image.fromarray(array, "RGB").save(paths[-1])
    return paths


@pytest.fixture
def clip(tmp_path: Path) -> Path:
    """2 shots × 8 frames of 64×48 at 8 fps (one cut at frame 8), with an AAC tone."""
    return make_clip(_photos(tmp_path), tmp_path / "clip.mp4", width=64, height=48, fps=8, seconds_per_shot=1.0)


def _read(path: Path) -> dict:
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        info = {"codec": video.codec_context.name, "pix_fmt": video.codec_context.pix_fmt,
                "size": (video.codec_context.width, video.codec_context.height), "rate": video.average_rate,
                "audio": [s.codec_context.name for s in container.streams.audio]}
        frames = [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]
    with av.open(str(path)) as container:
        audio_packets = [p for p in container.demux(audio=0) if p.size] if info["audio"] else []
        info["audio_seconds"] = sum(float(p.duration * p.time_base) for p in audio_packets)
    info["frames"] = frames
    return info


def test_round_trip_keeps_frames_rate_size_and_audio(tiny_model, clip: Path, tmp_path: Path):
    result = stylize_video(tiny_model, clip, tmp_path / "out.mp4", batch_size=3)
    source, written = _read(clip), _read(tmp_path / "out.mp4")
    assert result.frames == len(source["frames"]) == len(written["frames"]) == 16
    assert written["size"] == (64, 48) and written["rate"] == Fraction(8)
    assert (written["codec"], written["pix_fmt"]) == ("h264", "yuv420p")
    assert written["audio"] == ["aac"] and written["audio_seconds"] == pytest.approx(source["audio_seconds"], abs=1e-6)
    assert result.cuts == [8]
    # The frames are the network's pictures (H.264 at crf 18 on top), not the input's.
    expected = stylize(tiny_model, torch.from_numpy(source["frames"][3]).permute(2, 0, 1).float() / 255)
    got = torch.from_numpy(written["frames"][3]).permute(2, 0, 1).float() / 255
    assert (got - expected).abs().mean() < 0.03
    assert (got - torch.from_numpy(source["frames"][3]).permute(2, 0, 1).float() / 255).abs().mean() > 0.05


def test_odd_size_and_max_size_give_even_frames(tiny_model, tmp_path: Path):
    odd = make_clip(_photos(tmp_path, 1), tmp_path / "odd.mkv", width=33, height=25, fps=4, seconds_per_shot=1.0,
                    tone_hz=None)
    result = stylize_video(tiny_model, odd, tmp_path / "odd_out.mp4")
    assert (result.width, result.height) == (32, 24) and not result.audio
    assert _read(tmp_path / "odd_out.mp4")["size"] == (32, 24)
    assert even_size(333, 251, None) == (332, 250)
    assert even_size(1920, 1080, 640) == (640, 360)
    with pytest.raises(VideoError, match="at least"):
        even_size(333, 251, 6)  # 6×4: below the network's minimum side


def test_start_and_duration_trim_video_and_audio(tiny_model, clip: Path, tmp_path: Path):
    result = stylize_video(tiny_model, clip, tmp_path / "cut.mp4", start=0.5, duration=1.0)
    written = _read(tmp_path / "cut.mp4")
    assert result.frames == len(written["frames"]) == 8
    # Audio is copied packet by packet (1024 samples, 23 ms each), trimmed to the same second.
    assert written["audio_seconds"] == pytest.approx(1.0, abs=0.05)
    assert result.cuts == [4]  # the source's cut at frame 8 is frame 4 of the trimmed clip


@pytest.mark.parametrize("kind", ["text", "audio_only", "empty_range"])
def test_bad_inputs_raise_and_leave_no_file(tiny_model, clip: Path, tmp_path: Path, kind: str):
    output = tmp_path / "out.mp4"
    if kind == "text":
        source = tmp_path / "notes.mp4"
        source.write_text("this is not a video")
        call = dict(input_path=source)
        message = "not a video"
    elif kind == "audio_only":
        source = tmp_path / "tone.m4a"
        with av.open(str(source), "w", format="mp4") as sink:
            stream = sink.add_stream("aac", rate=8000)
            frame = av.AudioFrame.from_ndarray(torch.zeros(1, 1024).numpy(), format="fltp", layout="mono")
            frame.sample_rate, frame.pts = 8000, 0
            sink.mux(stream.encode(frame))
            sink.mux(stream.encode(None))
        call = dict(input_path=source)
        message = "no video stream"
    else:
        call = dict(input_path=clip, start=5.0)
        message = "no video frame"
    with pytest.raises(VideoError, match=message):
        stylize_video(tiny_model, output_path=output, **call)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith((".out", "out"))) == []


def test_still_blend_holds_still_pixels_takes_moving_ones_and_resets_at_cuts():
    frames = torch.zeros(4, 3, 12, 12)
    frames[2, :, :, 6:] = 1.0  # frame 2: the right half changes, the left half stays still
    styled = torch.rand(4, 3, 12, 12, generator=torch.Generator().manual_seed(0))
    blend = StillBlend(0.8)
    out = blend(frames, styled, [True, False, False, True])
    assert torch.equal(out[0], styled[0]) and torch.equal(out[3], styled[3])  # shot starts: taken as they are
    assert torch.allclose(out[1], 0.2 * styled[1] + 0.8 * out[0])  # nothing moved: mostly the last output
    assert torch.allclose(out[2, :, :, :3], 0.2 * styled[2, :, :, :3] + 0.8 * out[1, :, :, :3])  # still part
    assert torch.allclose(out[2, :, :, 9:], styled[2, :, :, 9:])  # moved part: the new frame, no trail
    assert torch.equal(StillBlend(0.0)(frames, styled, [True] * 4), styled)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        StillBlend(1.0)


def test_still_blend_lowers_the_flicker_of_a_still_noisy_shot(tiny_model, tmp_path: Path):
    still = make_clip(_photos(tmp_path, 1), tmp_path / "still.mp4", width=64, height=48, fps=8, seconds_per_shot=1.0,
                      pan=0.0, zoom=1.0, noise=6.0, tone_hz=None)
    alone = stylize_video(tiny_model, still, tmp_path / "alone.mp4")
    held = stylize_video(tiny_model, still, tmp_path / "held.mp4", temporal_blend=0.9)
    assert held.input_change == pytest.approx(alone.input_change)
    assert held.flicker < 0.5 * alone.flicker


def test_cut_is_not_smeared_but_is_without_cut_detection(tiny_model, tmp_path: Path):
    """A still camera, then a cut to a shot that shares the left part of the picture.

    The blend holds whatever part of the input did not change; without the reset at the cut the
    first shot's stylised pixels would stay on the shared part of the second.
    """
    from PIL import Image

    y, x = torch.meshgrid(torch.linspace(0, 1, 90), torch.linspace(0, 1, 120), indexing="ij")
    first = torch.stack([x, y, (x + y) / 2], dim=-1)
    second = first.clone()
    second[:, 72:] = torch.stack([1 - y, 0.2 * x, 1 - x], dim=-1)[:, 72:]
    photos = [tmp_path / "first.png", tmp_path / "second.png"]
    for photo, array in zip(photos, (first, second)):
        Image.fromarray((array * 255).byte().numpy(), "RGB").save(photo)
    clip = make_clip(photos, tmp_path / "cut.mp4", width=64, height=48, fps=8, seconds_per_shot=1.0, pan=0.0,
                     zoom=1.0, tone_hz=None)
    plain = _read(Path(stylize_video(tiny_model, clip, tmp_path / "plain.mp4").path))["frames"]
    reset = stylize_video(tiny_model, clip, tmp_path / "reset.mp4", temporal_blend=0.9)
    smeared = stylize_video(tiny_model, clip, tmp_path / "smear.mp4", cut_threshold=math.inf, temporal_blend=0.9)
    assert reset.cuts == [8] and smeared.cuts == []

    def difference(a, b) -> float:
        return float((torch.from_numpy(a).float() - torch.from_numpy(b).float()).abs().mean())

    # After the cut the reset frame is the plain one up to H.264 noise (< 1 level of 255); without
    # cut detection the first shot's pixels stay on the shared part (~8 levels on average).
    after_reset, after_smear = _read(reset.path)["frames"][8], _read(smeared.path)["frames"][8]
    assert difference(after_reset, plain[8]) < 2.0
    assert difference(after_smear, plain[8]) > 2 * difference(after_reset, plain[8]) + 2.0


def test_cli_writes_the_clip_and_refuses_what_it_cannot_do(tiny_checkpoint: Path, clip: Path, tmp_path: Path, capsys):
    output = tmp_path / "styled.mp4"
    base = ["--ckpt", str(tiny_checkpoint), "--input", str(clip), "--quiet"]
    assert video_main([*base, "--output", str(output), "--temporal-blend", "0.5"]) == 0
    assert "16 frames" in capsys.readouterr().out and len(_read(output)["frames"]) == 16
    assert video_main([*base, "--output", str(output)]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert video_main([*base, "--output", str(tmp_path / "styled.avi")]) == 2
    assert ".mp4" in capsys.readouterr().err
    for removed in (["--temporal-smoothing", "0.9"], ["--temporal-smoothing"]):  # removed: one line, the remedy named
        assert video_main([*base, "--output", str(tmp_path / "x.mp4"), *removed]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "--temporal-blend" in err and not (tmp_path / "x.mp4").exists()
    assert video_main([*base, "--output", str(tmp_path / "x.mp4"), "--temporal-blend", "-0.1"]) == 2
    not_video = tmp_path / "fake.mp4"
    not_video.write_bytes(b"\x00" * 100)
    assert video_main(["--ckpt", str(tiny_checkpoint), "--input", str(not_video), "--output",
                       str(tmp_path / "y.mp4"), "--quiet"]) == 1
    assert "not a video" in capsys.readouterr().err and not (tmp_path / "y.mp4").exists()


def test_script_stylises_with_a_shipped_style(clip: Path, tmp_path: Path, capsys):
    # In-process: scripts/stylize_video.py is this main (test_scripts.py runs every script as users do).
    output = tmp_path / "candy.mp4"
    assert video_main(["--style", "candy", "--input", str(clip), "--output", str(output)]) == 0
    assert len(_read(output)["frames"]) == 16 and "audio copied" in capsys.readouterr().out


def test_a_damaged_clip_is_stylised_or_refused_cleanly(tiny_model, clip: Path, tmp_path: Path):
    data = bytearray(clip.read_bytes())
    generator = torch.Generator().manual_seed(3)
    middle = len(data) // 2
    data[middle:middle + 2000] = bytes(torch.randint(0, 256, (2000,), generator=generator, dtype=torch.uint8).tolist())
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    output = tmp_path / "out.mp4"
    try:
        result = stylize_video(tiny_model, damaged, output)
    except VideoError as error:  # FFmpeg gave up: one line naming the file, nothing written
        assert "damaged.mp4" in str(error) and not output.exists()
    else:  # FFmpeg concealed the damage: a playable clip
        assert len(_read(output)["frames"]) == result.frames > 0
    assert not list(tmp_path.glob(".*.part"))


def test_cli_takes_a_blend_of_the_shared_network(clip: Path, tmp_path: Path, capsys):
    output = tmp_path / "blend.mp4"
    assert video_main(["--style", "candy:0.5,udnie:0.5", "--input", str(clip), "--output", str(output), "--quiet"]) == 0
    frames = _read(output)["frames"]
    assert len(frames) == 16
    single = tmp_path / "udnie.mp4"
    assert video_main(["--style", "udnie@styles15", "--input", str(clip), "--output", str(single), "--quiet"]) == 0
    mean_levels = abs(frames[0].astype(float) - _read(single)["frames"][0].astype(float)).mean()
    assert mean_levels > 2.0  # the blend is not udnie alone
    assert video_main(["--style", "candy:0.5,nope:0.5", "--input", str(clip), "--output", str(tmp_path / "x.mp4")]) == 2
    assert "unknown style 'nope'" in capsys.readouterr().err
