"""The web app served on 127.0.0.1: a real browser (headless Chromium via Playwright) and a load test."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytest.importorskip("gradio", reason="Gradio is in the 'app' extra, installed by make test")

from fast_style.infer.stylize import load_model
from fast_style.io import load_image
from scripts.bench_app import LoadReport, free_port, peak_memory_mb, random_photos, run_load, start_server, wrong_answers
from tests.helpers import make_tiny_model, save_tiny_checkpoint

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _playwright():
    """Playwright's sync API once a system Chromium is known to be there (CI must have one; elsewhere a skip)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium (.ci/run installs the 'chromium' package)")
        pytest.skip("no system Chromium here (apt install chromium); CI installs it and runs this test")
    return pytest.importorskip("playwright.sync_api", reason="playwright is in the 'test' extra")


CAMERA_PHOTO = "coco/val2017/000000000139.jpg"  # what the fake camera films (a still frame, looping)


class _Server:
    """The app serving the shipped styles and ``models`` on a free local port, its downloads and Gradio's cache
    in ``temp``: started on first use and again after a test stopped it (one start for the whole module)."""

    def __init__(self, models: Path, temp: Path) -> None:
        self.models, self.temp, self.process, self.port = models, temp, None, 0

    def url(self) -> str:
        if self.process is None or self.process.poll() is not None:
            env = {key: value for key, value in os.environ.items() if key != "GRADIO_TEMP_DIR"}
            env["TMPDIR"] = str(self.temp)  # the app's download folder and Gradio cache go here
            self.port = free_port()
            self.process = start_server(["--models", str(self.models), "--concurrency", "2"], self.port, env=env)
        return f"http://127.0.0.1:{self.port}/"

    def stop(self) -> None:
        """SIGTERM, as a service manager stops it."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The served models folder: the tiny test network, and one unreadable file that must not stop the page."""
    folder = tmp_path_factory.mktemp("models")
    save_tiny_checkpoint(make_tiny_model(), folder / "tiny.pth")
    (folder / "broken.pth").write_bytes(b"not a checkpoint")
    return folder


@pytest.fixture(scope="module")
def server(models: Path, tmp_path_factory: pytest.TempPathFactory):
    """One served app for the module (see ``_Server``); a test calls ``server.url()`` when it needs it."""
    served = _Server(models, tmp_path_factory.mktemp("server_tmp"))
    yield served
    served.stop()


def _camera_frames(assets_dir: Path, photo: str = CAMERA_PHOTO) -> list:
    """``photo`` as the fake camera's 160×120 frame."""
    from tests.clips import pan_frames

    return pan_frames(assets_dir / photo, 160, 120, 1, pan=0.0)


@pytest.fixture(scope="module")
def browser(assets_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium for the module, whose fake camera plays ``CAMERA_PHOTO``."""
    from scripts.bench_live import launch_with_camera
    from tests.clips import write_y4m

    sync_api = _playwright()
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "camera.y4m", _camera_frames(assets_dir) * 10, fps=10)
    with sync_api.sync_playwright() as playwright:
        launched = launch_with_camera(playwright, clip)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    """A fresh page (its own context: no cookies or storage from another test)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    yield context.new_page()
    context.close()


def _pick(page, styles: list[str], name: str) -> None:
    """Click ``name``'s thumbnail in the painting picker (one tile per style, in ``StyleLibrary.styles()`` order)."""
    page.locator("#style-gallery .thumbnail-item").nth(styles.index(name)).click()


@pytest.mark.browser
def test_a_browser_stylises_a_photo_with_a_painting_picked_by_its_thumbnail_and_with_its_own(
        browser, page, server: _Server, models: Path, assets_dir: Path, tmp_path: Path):
    from fast_style.infer.app.library import StyleLibrary
    from fast_style.infer.stylize import stylize

    sync_api = _playwright()
    url = server.url()  # started only once the browser is known to be there
    library = StyleLibrary(models)  # what the server serves
    styles = library.styles()
    photo = assets_dir / "coco" / "val2017" / "000000000139.jpg"
    painting = tmp_path / "my painting.jpg"  # a painting of one's own: not one the picker lists
    painting.write_bytes(sorted((assets_dir / "paintings").glob("*.jpg"))[0].read_bytes())
    width, height = Image.open(photo).size
    not_an_image = tmp_path / "notes.jpg"
    not_an_image.write_text("this is not a photo")
    # A style with a small network (not the first, picked already), by its thumbnail with the fast switch on;
    # then one's own painting.
    fast_style = [name for name in styles if library.small_network(name)][-1]
    runs = [(fast_style, f"{fast_style} — small network {fast_style}-small.pth"),
            ("your painting", "your painting — arbitrary network arbitrary.pth, folded for your painting")]
    page.goto(url)
    # A bad upload: a visible message, and the page keeps working.
    page.locator("#photo input[type=file]").set_input_files(str(not_an_image))
    page.get_by_role("button", name="Stylise").click()
    sync_api.expect(page.get_by_text("rror").first).to_be_visible(timeout=60_000)
    page.reload()
    page.locator("#photo input[type=file]").set_input_files(str(photo))
    for name, label in runs:
        if name == "your painting":
            page.locator("#painting input[type=file]").set_input_files(str(painting))
        else:
            _pick(page, styles, name)
            page.locator("#fast input").check()
        sync_api.expect(page.locator("#choice")).to_contain_text(label, timeout=60_000)  # said before it runs
        page.get_by_role("button", name="Stylise").click()
        done = re.compile(f"{re.escape(label)}.*{width}×{height} pixels")  # the network used, then the size
        sync_api.expect(page.locator("#status")).to_contain_text(done, timeout=120_000)
        link = page.locator("#download a").first.get_attribute("href")
        response = page.request.get(link if link.startswith("http") else url.rstrip("/") + link)
        result = tmp_path / f"{name}.png"
        result.write_bytes(response.body())
        assert Image.open(result).size == (width, height)
    page.screenshot(path=str(tmp_path / "app.png"), full_page=True)
    if os.environ.get("FAST_STYLE_SCREENSHOT"):
        shutil.copy(tmp_path / "app.png", os.environ["FAST_STYLE_SCREENSHOT"])
    # The painting reached the arbitrary network as uploaded: the page's result is the library's, PNG rounding aside.
    got, content = load_image(tmp_path / "your painting.png")[0], load_image(photo)
    expected = stylize(load_model(style_image=painting), content)[0]
    assert (got - expected).abs().max() <= 1 / 255 and (got - content[0]).abs().mean() > 0.05


def test_twenty_requests_from_four_clients_all_come_back_right(server: _Server, models: Path, tmp_path: Path):
    photos = random_photos(tmp_path, 20, 64)  # each its own photo and size, so a mixed-up answer cannot pass
    report = run_load(server.url(), photos, "tiny", clients=4)
    assert report.errors == {} and len(report.received) == 20
    network = load_model(models / "tiny.pth")
    assert wrong_answers(report, photos, network) == []
    # The check can fail: answers handed back to the wrong requests are caught.
    swapped = LoadReport(received={0: report.received[1], 1: report.received[0]})
    assert wrong_answers(swapped, photos[:2], network) == [0, 1]
    assert report.most_in_flight > 1  # the clients really overlapped
    print(f"load test: 20 requests, 4 clients, {report.seconds:.1f} s, server peak memory "
          f"{peak_memory_mb(server.process.pid):.0f} MB")


@pytest.mark.browser
def test_the_live_camera_streams_stylised_frames_and_the_page_survives_a_stop(browser, page, server: _Server,
                                                                              assets_dir: Path):
    """The fake camera (``CAMERA_PHOTO``, looping) streams to the live tab; what comes back is that frame stylised."""
    import base64
    import io

    import torch

    from fast_style.infer.app.live import frame_tensor
    from fast_style.infer.stylize import stylize
    from scripts.bench_live import live_frame, start_live, stop_live

    sync_api = _playwright()
    url = server.url()
    photo = assets_dir / CAMERA_PHOTO
    frames = _camera_frames(assets_dir)
    start_live(page, url, "candy")  # a shipped network: its output follows the frame closely
    # A frame answered in candy (the status names the style it used): frames stylised before the page's pick
    # reached the server may be in another style.
    sync_api.expect(page.locator("#live-status")).to_contain_text(re.compile(r"\bcandy: \d+×\d+.*frames/s"),
                                                                  timeout=120_000)
    source = live_frame(page)
    assert source and source.startswith("data:image/jpeg;base64,")  # inline, not a cached file
    got = torch.from_numpy(np.asarray(Image.open(io.BytesIO(base64.b64decode(source.split(",", 1)[1])))
                                      .convert("RGB"))).permute(2, 0, 1).float() / 255
    network = load_model("candy")
    expected = stylize(network, frame_tensor(frames[0]))[0]
    assert got.shape == expected.shape
    # The camera's 4:2:0 frames and JPEG both ways cost a few levels; what came back is that frame stylised,
    # not the raw frame and not another photo stylised.
    distance = (got - expected).abs().mean()
    other_photo = _camera_frames(assets_dir, "coco/val2017/000000000285.jpg")[0]
    others = [frame_tensor(frames[0])[0], stylize(network, frame_tensor(other_photo))[0]]
    assert distance < 0.06 and all(distance < 0.5 * (got - other).abs().mean() for other in others)
    stop_live(page)
    # The page keeps working once the camera stops: a photo still stylises.
    page.get_by_role("tab", name="Photo").click()
    page.locator("#photo input[type=file]").set_input_files(str(photo))
    page.locator("#style-gallery .thumbnail-item").last.click()  # the models folder's network, after the zoo's
    # The pick reaches the server before Stylise does (a click right after it could still run the live tab's style).
    sync_api.expect(page.locator("#choice")).to_contain_text("tiny — your network tiny.pth", timeout=60_000)
    page.get_by_role("button", name="Stylise").click()
    sync_api.expect(page.locator("#status")).to_contain_text("tiny — your network tiny.pth", timeout=120_000)


@pytest.mark.browser
def test_a_browser_blends_two_styles_with_the_mix_slider(browser, page, server: _Server, models: Path,
                                                         assets_dir: Path, tmp_path: Path):
    """The second-style picker and the mix slider give the blend the zoo gives (mixed γ, β or embeddings), not
    either style alone and not a pixel mix."""
    from fast_style.infer.app.library import StyleLibrary
    from fast_style.infer.stylize import stylize

    sync_api = _playwright()
    library = StyleLibrary(models)
    styles = library.styles()
    first = next(name for name in styles if library.blendable(name))
    second = library.blendable(first)[0]
    url = server.url()
    photo = assets_dir / "coco" / "val2017" / "000000000285.jpg"
    page.goto(url)
    page.locator("#photo input[type=file]").set_input_files(str(photo))
    _pick(page, styles, first)
    # Picking a style resets the second-style picker (its partners change) once the server answers:
    # pick the second style after that, and again if the reset landed later.
    picker = page.locator("#blend-with input")
    steady = 0
    for _ in range(15):
        page.wait_for_timeout(700)
        steady = steady + 1 if picker.input_value() == second else 0
        if steady == 3:  # kept for two seconds: the reset has come and gone
            break
        if not steady:
            picker.fill(second)
            picker.press("Enter")
    sync_api.expect(picker).to_have_value(second)
    page.locator("#mix input[type=number]").fill("0.3")
    page.locator("#mix input[type=number]").press("Enter")
    page.get_by_role("button", name="Stylise").click()
    sync_api.expect(page.locator("#status")).to_contain_text(f"{first} 70% + {second} 30%", timeout=120_000)
    link = page.locator("#download a").first.get_attribute("href")
    result = tmp_path / "blend.png"
    result.write_bytes(page.request.get(link if link.startswith("http") else url.rstrip("/") + link).body())
    got = load_image(result)[0]
    content = load_image(photo)
    blend = stylize(load_model(f"{first}:0.7,{second}:0.3"), content)[0]
    alone = [stylize(load_model(name), content)[0] for name in (first, second)]
    pixel_mix = 0.7 * alone[0] + 0.3 * alone[1]  # mixing two outputs is not mixing γ, β
    assert got.shape == blend.shape
    distance = (got - blend).abs().mean()
    assert distance < 0.005 and all(distance < 0.2 * (got - other).abs().mean() for other in [*alone, pixel_mix])


# Last in the module: it stops the shared server (a test after it, in another order, starts it again).
def test_the_app_keeps_its_own_guards_and_leaves_no_temporary_folder(server: _Server, tmp_path: Path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    try:
        client = Client(server.url(), verbose=False)

        def ask(photo: Path, max_size: float | str = 64):
            return client.predict(handle_file(str(photo)), "tiny", 1.0, False, max_size, "PNG", api_name="/stylise")

        rgba = tmp_path / "rgba.png"
        Image.new("RGBA", (40, 30), (200, 30, 30, 128)).save(rgba)
        _, download, _ = ask(rgba)
        assert Image.open(download).mode == "RGBA"  # the upload reached the app undecoded: alpha kept
        text = tmp_path / "notes.png"
        text.write_text("this is not a photo")
        for photo, max_size, expected in ((text, 64, "That upload cannot be used as a photo"),
                                          (rgba, "NaN", "has raised an exception")):  # refused by Gradio's slider
            with pytest.raises(AppError) as error:
                ask(photo, max_size)
            message = str(error.value)
            assert expected in message and str(tmp_path) not in message and "/tmp" not in message, message
        assert any(path.name.startswith(("fast_style_app_", "fast_style_gradio_")) for path in server.temp.iterdir())
    finally:
        server.stop()
    server.process.log.seek(0)
    assert "warning: not serving" in server.process.log.read()  # the models folder's broken.pth
    assert [path.name for path in server.temp.iterdir() if path.name.startswith("fast_style_")] == []
