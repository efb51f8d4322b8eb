"""Measure the web page's live camera mode end to end: a fake 640×480 camera in headless Chromium.

    python scripts/bench_live.py --style candy-small --seconds 20

Starts the app on a local port, opens the page in the system Chromium with a fake camera playing
a clip made from a COCO photo (a slow pan, so every frame differs), starts the live stream with
the chosen style and counts the stylised frames that reach the page. Prints frames/s as the page
shows them and as counted in the browser, and the server's milliseconds per frame. Needs the
``app`` and ``test`` extras and ``apt install chromium``. The browser test
(``tests/test_app_served.py``) drives the page with the same functions.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.bench_app import free_port, start_server

FAKE_CAMERA_FLAGS = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream")
# What the status line says once frames come back, e.g. "candy: 640×480, 41 ms for this frame, 14.2 frames/s".
STATUS = re.compile(r"(\d+)×(\d+), (\d+) ms for this frame, (?:([\d.]+) frames/s|measuring)")


def chromium() -> str | None:
    """The system Chromium (Playwright's own browser download does not work everywhere)."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


def launch_with_camera(playwright, clip: Path):
    """Headless Chromium whose camera plays ``clip`` (a .y4m file), permission granted."""
    return playwright.chromium.launch(executable_path=chromium(), args=[
        "--no-sandbox", *FAKE_CAMERA_FLAGS, f"--use-file-for-fake-video-capture={clip}"])


def start_live(page, url: str, style: str, timeout_ms: float = 120_000) -> None:
    """Open the page's live tab, pick ``style`` and start the camera stream."""
    page.goto(url)
    page.get_by_role("tab", name="Live camera").click()
    page.locator("#live-style input").fill(style)
    # The option of exactly that name: Enter would take the first match, and small networks come first
    # ("candy" would start candy-small).
    page.get_by_role("option", name=style, exact=True).click()
    if page.locator("#live-style input").input_value() != style:
        raise RuntimeError(f"the live tab did not take style {style!r}")
    camera = page.locator("#camera")
    # Gradio's webcam: first the camera's permission and preview, then its Record button starts the stream.
    camera.get_by_role("button", name="Click to Access Webcam").click(timeout=timeout_ms)
    camera.get_by_role("button", name="capture photo").filter(has_text="Record").click(timeout=timeout_ms)


def stop_live(page) -> None:
    """Stop the camera stream (the webcam's Stop button)."""
    page.locator("#camera").get_by_role("button", name="capture photo").filter(has_text="Stop").click()


def live_frame(page) -> str | None:
    """The data URL of the stylised picture the page shows now, or ``None``."""
    image = page.locator("#live-output img")
    return image.first.get_attribute("src") if image.count() else None


def status(page) -> re.Match | None:
    """The live status line, parsed (size, ms per frame, frames/s), or ``None`` before the first frame."""
    return STATUS.search(page.locator("#live-status").inner_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="candy-small", help="a served style (default candy-small)")
    parser.add_argument("--seconds", type=float, default=20.0, help="how long to stream (default 20)")
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=480)
    args = parser.parse_args(argv)
    if chromium() is None:
        parser.error("no system Chromium (apt install chromium)")
    from playwright.sync_api import sync_playwright

    from fast_style.assets import resolve_path_or_asset
    from fast_style.machine import describe_cpu
    from tests.clips import pan_frames, write_y4m

    port = free_port()
    server = start_server([], port)
    try:
        with tempfile.TemporaryDirectory() as folder, sync_playwright() as playwright:
            photo = resolve_path_or_asset("coco/val2017") / "000000000139.jpg"
            clip = write_y4m(Path(folder) / "camera.y4m", pan_frames(photo, args.width, args.height, 90), fps=30)
            browser = launch_with_camera(playwright, clip)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            start_live(page, f"http://127.0.0.1:{port}/", args.style)
            page.wait_for_function("document.querySelector('#live-output img') !== null", timeout=120_000)
            seen, last, milliseconds, shown = 0, None, [], []
            deadline = time.monotonic() + args.seconds
            started = time.monotonic()
            while time.monotonic() < deadline:
                frame = live_frame(page)
                if frame and frame != last:
                    seen, last = seen + 1, frame
                    parsed = status(page)
                    if parsed:
                        milliseconds.append(int(parsed.group(3)))
                        if parsed.group(4):
                            shown.append(float(parsed.group(4)))
                time.sleep(0.005)
            elapsed = time.monotonic() - started
            stop_live(page)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    median = sorted(milliseconds)[len(milliseconds) // 2] if milliseconds else float("nan")
    print(f"{args.style}, fake camera {args.width}×{args.height}, {elapsed:.1f} s on {describe_cpu()}: "
          f"{seen / elapsed:.1f} stylised frames/s reached the page (the page said {shown[-1] if shown else 'nothing'}), "
          f"median {median} ms per frame on the server")
    return 0


if __name__ == "__main__":
    sys.exit(main())
