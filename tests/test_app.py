"""The web app's request handler and served networks, without a browser (fast_style.infer.app)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from PIL import Image

from fast_style.infer.app.handlers import AppInputError, DownloadFolder, stylize_photo
from fast_style.infer.app.library import StyleLibrary
from fast_style.infer.stylize import load_model, stylize
from fast_style.io import load_image, pil_to_tensor


@pytest.fixture
def library(tiny_checkpoint: Path) -> StyleLibrary:
    """The tiny network served as 'tiny', without the shipped styles (fast)."""
    return StyleLibrary(tiny_checkpoint.parent, include_zoo=False)


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "holiday.jpg"
    array = (torch.rand(60, 90, 3, generator=torch.Generator().manual_seed(1)) * 255).byte().numpy()
    Image.fromarray(array).save(path, quality=95)
    return path


def test_stylises_like_the_library_and_writes_the_download(library, photo, tiny_checkpoint, tmp_path):
    downloads = DownloadFolder(root=tmp_path / "downloads")
    steps = []
    result = stylize_photo(library, photo, "tiny", max_size=45, downloads=downloads,
                           progress=lambda fraction, text: steps.append(fraction))
    assert result.after.size == result.before.size == (45, 30)
    assert result.download.suffix == ".png" and Image.open(result.download).size == (45, 30)
    expected = stylize(load_model(tiny_checkpoint), pil_to_tensor(result.before))
    assert (load_image(result.download)[0] - expected).abs().max() <= 0.5 / 255 + 1e-6  # PNG: rounding only
    assert steps == sorted(steps) and steps[-1] < 1.0
    jpeg = stylize_photo(library, photo, "tiny", file_format="JPEG", max_size=4096, downloads=downloads)
    assert jpeg.download.suffix == ".jpg" and Image.open(jpeg.download).size == (90, 60)  # never enlarged


def test_strength_zero_and_preserve_color(library, photo, tmp_path):
    downloads = DownloadFolder(root=tmp_path / "d")
    plain = stylize_photo(library, photo, "tiny", strength=0.0, downloads=downloads)
    assert plain.after.tobytes() == plain.before.tobytes()
    kept = stylize_photo(library, photo, "tiny", preserve_color=True, downloads=downloads)
    styled = stylize_photo(library, photo, "tiny", downloads=downloads)
    assert kept.after.tobytes() != styled.after.tobytes()
    # Luminance-only transfer: the stylised luma with the photo's chroma.
    assert kept.after.convert("YCbCr").getchannel("Y").tobytes() != plain.after.convert("YCbCr").getchannel("Y").tobytes()


@pytest.mark.parametrize("case, message", [
    ("nothing", "Upload a photo"),
    ("not_image", "cannot be used as a photo"),
    ("truncated", "cannot be used as a photo"),
    ("one_pixel", "at least"),
    ("too_many_pixels", "decompression-bomb"),
    ("unknown_style", "unknown style"),
    ("no_style", "Choose a style"),
    ("bad_format", "download format"),
    ("nan_size", "Output size must be a number, got nan"),
    ("text_strength", "Strength must be a number, got 'lots'"),
])
def test_bad_requests_give_a_message_for_the_page(library, photo, tmp_path, case, message):
    path, style, options = photo, "tiny", {}
    if case == "nothing":
        path = None
    elif case == "not_image":
        path = tmp_path / "notes.jpg"
        path.write_text("not an image")
    elif case == "truncated":
        path = tmp_path / "cut.jpg"
        path.write_bytes(photo.read_bytes()[:300])
    elif case == "one_pixel":
        path = tmp_path / "dot.png"
        Image.new("RGB", (1, 1)).save(path)
    elif case == "too_many_pixels":
        options = {"max_pixels": 1000}
    elif case == "unknown_style":
        style = "van_gogh_please"
    elif case == "no_style":
        style = None
    elif case == "nan_size":
        options = {"max_size": float("nan")}
    elif case == "text_strength":
        options = {"strength": "lots"}
    else:
        options = {"file_format": "GIF"}
    with pytest.raises(AppInputError, match=message) as error:
        stylize_photo(library, path, style, downloads=DownloadFolder(root=tmp_path / "d"), **options)
    assert str(tmp_path) not in str(error.value) or case == "unknown_style"  # no server paths on the page


def test_library_loads_each_network_once_and_names_clashes(tiny_checkpoint, tmp_path):
    library = StyleLibrary(tiny_checkpoint.parent)
    from fast_style.zoo import available_styles, served_styles

    # The shipped styles first (every served spec, a shared network's styles included), then the folder's.
    assert library.names()[: len(served_styles())] == list(served_styles())
    assert library.model("tiny") is library.model("tiny")
    clash = tmp_path / "clash"
    clash.mkdir()
    (clash / f"{available_styles()[0]}.pth").write_bytes(tiny_checkpoint.read_bytes())
    assert f"{available_styles()[0]} (yours)" in StyleLibrary(clash).names()
    assert library.thumbnail("tiny").size == (160, 160)


def test_download_folder_keeps_only_the_newest(tmp_path):
    downloads = DownloadFolder(keep=3, root=tmp_path / "d")
    paths = []
    for index in range(5):
        paths.append(downloads.new_path(f"x{index}", ".png"))
        paths[-1].write_bytes(b"x")
    assert [path.exists() for path in paths] == [False, False, True, True, True]


def test_page_is_built_with_every_style_and_refuses_an_empty_library(library, tmp_path):
    from fast_style.infer.app.ui import build_app

    app = build_app(library, concurrency=2)
    components = {c.get("props", {}).get("elem_id"): c["props"] for c in app.get_config_file()["components"]}
    assert [tile["caption"] for tile in components["style-gallery"]["value"]] == ["tiny"]
    assert components["style"]["value"] == "tiny" and "Chosen:** tiny — your network tiny.pth" in components["choice"]["value"]
    assert components["fast"]["interactive"] is False  # no small network for tiny
    with pytest.raises(ValueError, match="no style to serve"):
        build_app(StyleLibrary(tmp_path / "empty", include_zoo=False))


def test_the_style_picker_lists_each_painting_once_and_every_served_name_stays_reachable():
    from fast_style.zoo import parse_spec, served_styles

    library = StyleLibrary()
    styles = library.styles()
    assert len(styles) == len(set(styles))
    # Every painting the zoo serves is in the picker exactly once, by the name that serves it (no network names).
    paintings = [parse_spec(name).terms[0].style for name in styles]
    assert sorted(paintings) == sorted({parse_spec(name).terms[0].style for name in served_styles()})
    assert not [name for name in styles if "@" in name or name.endswith("-small")]
    assert set(library.names()) == set(served_styles())  # the advanced picker still offers each network
    smalls = [name for name in styles if library.small_network(name)]
    assert smalls and all(library.small_network(name) == f"{name}-small" for name in smalls)


def test_the_fast_switch_picks_the_small_network_and_the_label_names_the_network_used(photo, tmp_path):
    library = StyleLibrary()
    downloads = DownloadFolder(root=tmp_path / "d")
    name = next(name for name in library.styles() if library.small_network(name))
    fast = stylize_photo(library, photo, name, fast=True, max_size=48, downloads=downloads)
    small = load_model(f"{name}-small")
    expected = stylize(small, pil_to_tensor(fast.before))
    assert (pil_to_tensor(fast.after) - expected).abs().max() <= 0.5 / 255 + 1e-6
    assert fast.network == f"{name} — small network {name}-small.pth, distilled from {name}"
    assert fast.message.startswith(fast.network)
    served = library.serve(name)  # the switch off: the plain name's network, as the zoo serves it
    assert served.label == f"{name} — {library.network_text(name)}" and "small" not in served.label
    without = next((name for name in library.styles() if not library.small_network(name)), None)
    if without is not None:  # a style without a small network: the switch is ignored, and the label says so
        assert library.serve(without, fast=True).label.endswith(f"; no small network for {without}")


def test_an_uploaded_painting_is_folded_once_and_stylises_at_the_photos_size(library, photo, assets_dir, tmp_path):
    from fast_style.infer.app.handlers import OWN_PAINTING

    painting = tmp_path / "upload" / "mine.jpg"
    painting.parent.mkdir()
    painting.write_bytes((assets_dir / "styles" / "mosaic.jpg").read_bytes())
    downloads = DownloadFolder(root=tmp_path / "d")
    result = stylize_photo(library, photo, OWN_PAINTING, painting=painting, downloads=downloads)
    assert result.after.size == result.before.size == (90, 60)
    expected = stylize(load_model(style_image=painting), pil_to_tensor(result.before))  # the library's painting path
    assert (pil_to_tensor(result.after) - expected).abs().max() <= 0.5 / 255 + 1e-6
    assert result.network == "your painting — arbitrary network arbitrary.pth, folded for your painting"
    # The same painting again (another upload, another name): the fold is kept by its content, not folded again.
    again = tmp_path / "again.jpg"
    again.write_bytes(painting.read_bytes())
    assert library.painting(again) is library.painting(painting)
    other = tmp_path / "other.jpg"
    other.write_bytes((assets_dir / "styles" / "candy.jpg").read_bytes())
    assert library.painting(other) is not library.painting(painting)


@pytest.mark.parametrize("case, message", [
    ("no_painting", "Upload a painting first"),
    ("not_image", "That upload cannot be used as a painting"),
    ("too_many_pixels", "decompression-bomb"),
    ("blend", "does not blend"),
])
def test_a_bad_painting_gives_a_message_for_the_page(library, photo, tmp_path, case, message):
    from fast_style.infer.app.handlers import OWN_PAINTING

    painting = tmp_path / "painting.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(painting)
    options = {"painting": painting}
    if case == "no_painting":
        options = {}
    elif case == "not_image":
        painting.write_text("not an image")
    elif case == "too_many_pixels":
        options["max_pixels"] = 1000  # the photo (60×90) is under it; the painting (64×64) is not
        Image.new("RGB", (64, 64)).save(painting)
        photo = tmp_path / "small.png"
        Image.new("RGB", (30, 30)).save(photo)
    else:
        options.update(blend_with="tiny", mix=0.5)
    with pytest.raises(AppInputError, match=message) as error:
        stylize_photo(library, photo, OWN_PAINTING, downloads=DownloadFolder(root=tmp_path / "d"), **options)
    assert str(tmp_path) not in str(error.value)  # no server paths on the page


def test_the_advanced_picker_serves_a_specific_network(library, photo, tiny_checkpoint, tmp_path):
    other = tiny_checkpoint.parent / "other.pth"
    other.write_bytes(tiny_checkpoint.read_bytes())
    both = StyleLibrary(tiny_checkpoint.parent, include_zoo=False)
    result = stylize_photo(both, photo, "tiny", network="other", fast=True, blend_with="tiny", mix=0.5,
                           downloads=DownloadFolder(root=tmp_path / "d"))
    assert result.network == "other — your network other.pth"


def test_errors_other_than_the_requests_reach_the_page_without_server_paths(tmp_path):
    from fast_style.checkpoint import CheckpointError
    from fast_style.infer.app.handlers import page_message

    broken = CheckpointError(f"'{tmp_path / 'broken.pth'}' is not a readable style checkpoint: bad zip")
    assert page_message(broken) == "'…' is not a readable style checkpoint: bad zip"


def test_an_unreadable_checkpoint_in_the_models_folder_is_left_out_with_a_warning(tiny_checkpoint, tmp_path):
    from fast_style.infer.app.library import UnservedModelWarning

    (tiny_checkpoint.parent / "broken.pth").write_bytes(b"not a checkpoint")
    with pytest.warns(UnservedModelWarning, match="not serving .*broken.pth"):
        library = StyleLibrary(tiny_checkpoint.parent, include_zoo=False)
    assert library.names() == ["tiny"] and list(library.skipped) == [tiny_checkpoint.parent / "broken.pth"]


def test_a_request_body_over_the_limit_is_refused_before_it_is_read(library):
    import gradio as gr
    from starlette.testclient import TestClient

    from fast_style.infer.app.limits import request_limits
    from fast_style.infer.app.ui import build_app

    page = build_app(library)
    page.max_file_size = 1024  # what launch(max_file_size=...) sets
    served = gr.routes.App.create_app(page, app_kwargs=request_limits("4kb", "1kb"))
    with TestClient(served) as client:
        big = {"data": ["x" * 8192], "fn_index": 0, "session_hash": "abc"}
        refused = client.post("/gradio_api/queue/join", json=big)
        assert refused.status_code == 413 and "at most 4,096 bytes" in refused.text
        small = client.post("/gradio_api/queue/join", json={**big, "data": ["x"]})
        assert small.status_code != 413
        # Sent without a Content-Length (chunked): cut off once past the limit, answered 413 all the same.
        chunks = (b"x" * 1024 for _ in range(64))
        assert client.post("/gradio_api/queue/join", content=chunks).status_code == 413
        # The upload route has --max-upload plus room for the form around the file.
        assert client.post("/gradio_api/upload", content=b"x" * 4000).status_code != 413
        assert client.post("/gradio_api/upload", content=b"x" * (2 << 20)).status_code == 413


@pytest.mark.parametrize(("flag", "value"), [("--max-request", "abc"), ("--max-upload", "0mb"), ("--max-request", "-5")])
def test_bad_request_limits_are_one_line_before_anything_loads(flag, value, capsys, monkeypatch):
    from fast_style.infer.app import ui

    monkeypatch.setattr(ui, "StyleLibrary", lambda *args, **kwargs: pytest.fail("loaded before the check"))
    assert ui.main([flag, value]) == 2
    expected = f"error: {flag} must be a positive size such as 50mb, 512kb or 1048576 (bytes), got {value!r}\n"
    assert capsys.readouterr().err == expected


def test_a_hostile_file_in_the_models_folder_is_left_out_from_its_declarations(tiny_checkpoint, tmp_path, monkeypatch):
    import fast_style.checkpoint as checkpoint_module
    from fast_style.infer.app.library import UnservedModelWarning

    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["model_args"]["num_residual_blocks"] = 10**9
    torch.save(payload, tiny_checkpoint.parent / "deep.pth")
    monkeypatch.setattr(checkpoint_module, "load_weights", lambda path: pytest.fail(f"read the weights of {path}"))
    with pytest.warns(UnservedModelWarning, match="deep.pth.*num_residual_blocks must be an integer from 0 to 64"):
        library = StyleLibrary(tiny_checkpoint.parent, include_zoo=False)
    assert library.names() == ["tiny"]


def test_a_request_for_a_bad_network_never_holds_up_one_for_a_good_network(tiny_checkpoint, photo, tmp_path, monkeypatch):
    """Both requests at once: the bad network's load is still running (held until the good request has
    answered) when the good one answers; then the bad one fails in one line."""
    import threading

    import fast_style.infer.app.library as library_module
    from fast_style.checkpoint import CheckpointError

    payload = torch.load(tiny_checkpoint, weights_only=True)
    payload["model_args"]["width"] = 8  # declarations within bounds, weights that do not fit: fails only on load
    torch.save(payload, tiny_checkpoint.parent / "bad.pth")
    library = StyleLibrary(tiny_checkpoint.parent, include_zoo=False)
    good_answered, bad_started = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def slow_load(spec, device):
        if spec.path.name == "bad.pth":
            bad_started.set()
            seen["good answered while bad loaded"] = good_answered.wait(timeout=20)
        return load_model(spec, device)

    monkeypatch.setattr(library_module, "load_model", slow_load)

    def request(name: str) -> None:
        try:
            seen[name] = stylize_photo(library, photo, name, max_size=32, downloads=DownloadFolder(root=tmp_path / name))
        except Exception as error:  # noqa: BLE001 - the outcome is what the test checks
            seen[name] = error
        if name == "tiny":
            good_answered.set()

    bad = threading.Thread(target=request, args=("bad",))
    bad.start()
    assert bad_started.wait(timeout=60)
    good = threading.Thread(target=request, args=("tiny",))
    good.start()
    good.join(timeout=60)
    bad.join(timeout=60)
    assert seen["good answered while bad loaded"] is True
    assert seen["tiny"].after.size == (32, 21)
    assert isinstance(seen["bad"], CheckpointError) and "weights differ at" in str(seen["bad"])


def test_the_api_route_is_stylize_and_the_old_stylise_still_serves(library):
    from fast_style.infer.app.ui import build_app

    app = build_app(library)
    routes = {fn.api_name: fn for fn in app.fns.values() if fn.api_name in ("stylize", "stylise")}
    assert set(routes) == {"stylize", "stylise"}
    new, old = routes["stylize"], routes["stylise"]
    # One handler, one queue: the old name is the same endpoint, marked deprecated on the API page.
    assert old.fn is new.fn and old.concurrency_id == new.concurrency_id
    assert [block._id for block in old.inputs] == [block._id for block in new.inputs]
    assert "Deprecated: use /stylize" in old.api_description
