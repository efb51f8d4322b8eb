"""The Gradio page: upload a photo, pick a painting (or bring your own), press Stylise, compare and download.

    python scripts/app.py                      # http://127.0.0.1:7860, shipped styles + checkpoints/
    python scripts/app.py --models my_nets/ --host 0.0.0.0 --port 8080 --concurrency 2

Runs the library path (:func:`fast_style.infer.stylize.stylize`: the exact fast CPU engine, CUDA's own
forward where present); each network is loaded once. Requests are queued: at most
``--concurrency`` are stylised at a time, so memory stays bounded on a small machine and
everybody gets their picture in turn. No share link and no analytics unless asked for.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass

import gradio as gr
from gradio.data_classes import ImageData

from fast_style.cli import add_device_argument, command
from fast_style.errors import FastStyleError, InvalidValueError
from fast_style.infer.app.handlers import (
    DEFAULT_MAX_PIXELS,
    DEFAULT_MAX_SIZE,
    DOWNLOAD_FORMATS,
    DownloadFolder,
    page_message,
    stylize_photo,
)
from fast_style.infer.app.library import OWN_PAINTING, StyleLibrary
from fast_style.infer.app.limits import DEFAULT_MAX_REQUEST, DEFAULT_MAX_UPLOAD, parse_size, request_limits
from fast_style.infer.app.live import default_live_styles, jpeg_data_url, stylize_live_frame

MAX_OUTPUT_SIZE = 4096
API_NAME = "stylize"  # the HTTP API's route: /stylize (gradio_client: api_name="/stylize")
OLD_API_NAME = "stylise"  # its deprecated spelling, still served (CHANGELOG.md)


def upload_as_is(image: gr.Image) -> gr.Image:
    """Make ``image`` hand an uploaded file to the handler as it is, undecoded.

    ``gr.Image`` opens every upload with Pillow before the handler runs (its decompression-bomb
    check, its own error text with a server path) and, with an ``image_mode``, decodes and
    re-saves it (alpha dropped, 16-bit clipped). The app's own reader
    (:func:`fast_style.io.read_photo`, behind ``--max-pixels``) is then the first to look at it.
    A webcam or clipboard picture sent as a data URL goes Gradio's usual way. (The instance's
    method is replaced, not the class subclassed: Gradio writes a ``.pyi`` stub beside every
    module that subclasses a component.)
    """
    gradio_preprocess = image.preprocess

    def preprocess(payload):  # Gradio's ImageData (a file on the server) or None
        if payload is not None and payload.path and not (payload.url or "").startswith("data:"):
            return str(payload.path)
        return gradio_preprocess(payload)

    image.preprocess = preprocess
    return image


def in_memory_image(image: gr.Image) -> gr.Image:
    """Make an output ``image`` send its (H, W, 3) uint8 picture inline as a JPEG data URL.

    Gradio writes every returned picture into its cache folder; a live stream would write ten
    files a second. (The instance's method is replaced, as in :func:`upload_as_is`.)
    """

    def postprocess(value):  # (H, W, 3) uint8 or None
        return None if value is None else ImageData(url=jpeg_data_url(value))

    image.postprocess = postprocess
    return image


NO_BLEND = "(none)"
AUTOMATIC = ""  # the advanced network picker's "no specific network": the style picked above


@dataclass
class StyleControls:
    """The style picker's components: the request's inputs and what shows the choice.

    ``style`` holds the served name picked (a hidden text box: the API takes any served name there,
    ``candy-small`` and ``candy@styles15`` included) or :data:`OWN_PAINTING`.
    """

    gallery: gr.Gallery
    style: gr.Textbox
    painting: gr.Image
    choice: gr.Markdown
    fast: gr.Checkbox
    blend_with: gr.Dropdown
    mix: gr.Slider
    network: gr.Dropdown


def _caption(name: str) -> str:
    return name.replace("_", " ")


def _style_controls(library: StyleLibrary, styles: list[str]) -> StyleControls:
    """A painting picker (each style once, by its thumbnail), an upload of one's own, the fast switch, the blend
    controls and, folded away, a specific network by name."""
    gallery = gr.Gallery([(library.thumbnail(name), _caption(name)) for name in styles], label="Pick a painting",
                         columns=5, allow_preview=False, height="auto", object_fit="cover", selected_index=0,
                         buttons=[], interactive=False, elem_id="style-gallery")
    style = gr.Textbox(styles[0], visible=False, elem_id="style")
    painting = upload_as_is(gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard"], height=180,
                                     label="…or use your own painting (any picture: the arbitrary network takes it)",
                                     elem_id="painting"))
    choice = gr.Markdown(_chosen_text(library.choice_label(styles[0])), elem_id="choice")
    fast = gr.Checkbox(False, label="Fast: the small network", elem_id="fast", **_fast_settings(library, styles[0]))
    with gr.Row():
        blend_with = gr.Dropdown([NO_BLEND, *library.blendable(styles[0])], value=NO_BLEND,
                                 label="Blend with a second style", elem_id="blend-with")
        mix = gr.Slider(0.0, 1.0, value=0.5, step=0.05, label="Mix (0 = first style, 1 = second)", elem_id="mix")
    with gr.Accordion("Advanced: a specific network", open=False):
        network = gr.Dropdown([("(the painting picked above)", AUTOMATIC), *library.names()], value=AUTOMATIC,
                              label="Network (the fast switch and the blend do not apply to it)", elem_id="network")
    return StyleControls(gallery, style, painting, choice, fast, blend_with, mix, network)


def _chosen_text(label: str) -> str:
    return f"**Chosen:** {label}"


def _fast_settings(library: StyleLibrary, style: str) -> dict:
    """The fast switch's state for ``style``: usable, and what it picks, where the style has a small network."""
    small = library.small_network(style) if style != OWN_PAINTING else None
    if small is not None:
        return {"interactive": True, "info": f"{small}: a few times quicker, a little less detail"}
    why = "the arbitrary network is small already" if style == OWN_PAINTING else f"no small network for {style}"
    return {"interactive": False, "info": why}


def _wire_style_controls(library: StyleLibrary, styles: list[str], controls: StyleControls) -> None:
    """Picking a thumbnail or uploading a painting sets the style; the style sets the fast switch, the blend
    partners and the line saying which network will answer."""

    def pick(event: gr.SelectData):
        return styles[event.index]

    def uploaded(painting):
        # A painting of one's own is the style now: no thumbnail stays marked as picked.
        return (OWN_PAINTING, gr.Gallery(selected_index=None)) if painting else (styles[0], gr.Gallery(selected_index=0))

    def chosen(style, fast, network):
        try:
            return _chosen_text(library.choice_label(network or style, bool(fast and not network)))
        except FastStyleError as error:
            return page_message(error)

    def style_changed(style, fast, network):
        # Only the styles the zoo can blend with this one are offered; a painting of one's own blends with none.
        partners = library.blendable(style) if style != OWN_PAINTING else []
        return (gr.Checkbox(**_fast_settings(library, style)), gr.Dropdown(choices=[NO_BLEND, *partners], value=NO_BLEND),
                chosen(style, fast, network))

    controls.gallery.select(pick, None, controls.style)
    controls.painting.upload(uploaded, controls.painting, [controls.style, controls.gallery])
    controls.painting.clear(uploaded, controls.painting, [controls.style, controls.gallery])
    options = [controls.style, controls.fast, controls.network]
    controls.style.change(style_changed, options, [controls.fast, controls.blend_with, controls.choice])
    controls.fast.change(chosen, options, controls.choice)
    controls.network.change(chosen, options, controls.choice)


def _live_tab(library: StyleLibrary, names: list[str], live_streams: int, live_seconds: float) -> None:
    """The live camera: frames stream in, each is stylised and streamed back, latency and frames/s shown."""
    choices = default_live_styles(names)
    gr.Markdown("Start the camera: every frame is stylised on the server and shown here as it comes back. "
                "The small networks (`-small`) keep up in real time; the style may change while it runs. "
                "Frames that arrive while the server is busy are dropped, so what you see is always the newest.")
    with gr.Row():
        # Not mirrored: the frames stylised (and shown) are what the camera sees, as in a photo of the scene.
        camera = gr.Image(sources=["webcam"], streaming=True, type="numpy", label="Camera", elem_id="camera",
                          webcam_options=gr.WebcamOptions(mirror=False))
        shown = in_memory_image(gr.Image(type="numpy", label="Stylised, live", interactive=False, elem_id="live-output"))
    with gr.Row():
        style = gr.Dropdown(choices, value=choices[0], label="Style (changes while it runs)", elem_id="live-style")
        blend = gr.Slider(0.0, 0.95, value=0.0, step=0.05, label="Temporal blend against flicker (0 = off)",
                          elem_id="live-blend")
    status = gr.Markdown(elem_id="live-status")
    state = gr.State(None)

    def frame(picture, style_name, strength, previous):
        try:
            return stylize_live_frame(library, picture, style_name, float(strength), previous)
        except FastStyleError as error:
            # The stream goes on: a message in place of the picture, not an error that ends it.
            return None, page_message(error), previous

    camera.stream(frame, [camera, style, blend, state], [shown, status, state], stream_every=0.05,
                  time_limit=live_seconds, concurrency_limit=live_streams, concurrency_id="live", api_name="live",
                  show_progress="hidden")


def _stylize_routes(button: gr.Button, run, inputs: list, outputs: list, concurrency: int) -> None:
    """The Stylise button's event, served as ``/stylize``, and its old route ``/stylise`` (deprecated).

    The old route is the same handler and queue on a button that is never shown (Gradio names one route
    per event); it is listed on the API page, marked deprecated, so that clients fill in its optional
    inputs as they do for ``/stylize``. It goes in the next release (CHANGELOG.md).
    """
    button.click(run, inputs, outputs, concurrency_limit=concurrency, concurrency_id="stylize", api_name=API_NAME)
    gr.Button(visible=False).click(run, inputs, outputs, concurrency_id="stylize", api_name=OLD_API_NAME,
                                   api_description="Deprecated: use /stylize.")


def _check_page_settings(names: list[str], concurrency: int, queue_size: int, live_streams: int,
                         live_seconds: float) -> None:
    if not names:
        raise InvalidValueError("no style to serve: the package ships none here and the models folder has no *.pth")
    if concurrency < 1 or queue_size < 1 or live_streams < 1 or not live_seconds > 0:
        raise InvalidValueError(f"concurrency, queue size and live streams must be at least 1 and the live time limit "
                                f"positive, got {concurrency}, {queue_size}, {live_streams}, {live_seconds}")


def build_app(library: StyleLibrary, *, max_pixels: int = DEFAULT_MAX_PIXELS, concurrency: int = 1,
              queue_size: int = 64, downloads: DownloadFolder | None = None, analytics: bool = False,
              live_streams: int = 2, live_seconds: float = 600.0) -> gr.Blocks:
    """The page for ``library``'s styles (a ``gr.Blocks``, queued; call ``.launch()`` to serve).

    Args:
        live_streams: camera streams served at once (more wait for a free one).
        live_seconds: how long one camera stream may run before it is stopped (the user restarts it).

    Raises:
        InvalidValueError: no style to serve, or a concurrency/queue size/live stream count below 1.
    """
    names = library.names()
    _check_page_settings(names, concurrency, queue_size, live_streams, live_seconds)
    downloads = downloads or DownloadFolder()

    # The API's inputs: the first eight as before the painting picker (old clients send those), then the new ones.
    def run(photo, style, strength, preserve_color, max_size, file_format, blend_with=NO_BLEND, mix=0.5, fast=False,
            painting=None, network=AUTOMATIC, progress=gr.Progress()):  # noqa: B008
        try:
            result = stylize_photo(library, photo, style, strength=strength, preserve_color=preserve_color,
                                   max_size=int(max_size), file_format=file_format, max_pixels=max_pixels,
                                   downloads=downloads, progress=lambda fraction, text: progress(fraction, desc=text),
                                   blend_with=None if blend_with in (None, NO_BLEND) else blend_with, mix=mix,
                                   fast=bool(fast), painting=painting, network=network or None)
        except FastStyleError as error:
            raise gr.Error(page_message(error), title="Cannot stylise") from None
        return (result.before, result.after), str(result.download), result.message

    with gr.Blocks(title="fast_style", analytics_enabled=analytics, delete_cache=(3600, 3600)) as app:
        gr.Markdown("## fast_style: stylise a photo\nFeed-forward style transfer (Johnson et al. 2016): "
                    "one pass of a trained network per photo; any painting of your own through the arbitrary "
                    "network (Ghiasi et al. 2017).")
        with gr.Tab("Photo", elem_id="photo-tab"), gr.Row():
            with gr.Column():
                photo = upload_as_is(gr.Image(type="filepath", image_mode=None, sources=["upload", "clipboard", "webcam"],
                                              label="Photo", elem_id="photo"))
                controls = _style_controls(library, library.styles())
                strength = gr.Slider(0.0, 1.0, value=1.0, step=0.05, label="Strength (0 = the photo, 1 = full style)")
                preserve_color = gr.Checkbox(False, label="Keep the photo's colours")
                max_size = gr.Slider(64, MAX_OUTPUT_SIZE, value=DEFAULT_MAX_SIZE, step=16,
                                     label="Output size: longest side in pixels (a smaller photo keeps its size)")
                file_format = gr.Radio(list(DOWNLOAD_FORMATS), value="PNG", label="Download format")
                button = gr.Button("Stylise", variant="primary", elem_id="stylise")
            with gr.Column():
                result = gr.ImageSlider(label="Before / after (drag the handle)", type="pil", elem_id="result")
                download = gr.File(label="Full-resolution download", elem_id="download")
                status = gr.Markdown(elem_id="status")
        with gr.Tab("Live camera", elem_id="live-tab"):
            _live_tab(library, names, live_streams, live_seconds)
        _wire_style_controls(library, library.styles(), controls)
        _stylize_routes(button, run, [photo, controls.style, strength, preserve_color, max_size, file_format,
                                      controls.blend_with, controls.mix, controls.fast, controls.painting, controls.network],
                        [result, download, status], concurrency)
    return app.queue(max_size=queue_size, default_concurrency_limit=concurrency)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description="A web page to stylise photos with fast_style networks.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default 127.0.0.1: this machine)")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--models", default="checkpoints",
                        help="folder of *.pth checkpoints served beside the shipped styles (default checkpoints/)")
    parser.add_argument("--no-zoo", action="store_true", help="serve only the --models folder")
    add_device_argument(parser)
    parser.add_argument("--concurrency", type=int, default=1, help="photos stylised at once (default 1)")
    parser.add_argument("--queue-size", type=int, default=64, help="requests waiting at most (default 64)")
    parser.add_argument("--live-streams", type=int, default=2, help="live camera streams served at once (default 2)")
    parser.add_argument("--live-seconds", type=float, default=600.0,
                        help="longest run of one live camera stream, in seconds (default 600)")
    parser.add_argument("--max-pixels", type=int, default=DEFAULT_MAX_PIXELS,
                        help=f"uploads with more pixels are refused (default {DEFAULT_MAX_PIXELS:,})")
    parser.add_argument("--max-upload", default=DEFAULT_MAX_UPLOAD,
                        help=f"largest upload file (default {DEFAULT_MAX_UPLOAD}; units b, kb, mb, gb)")
    parser.add_argument("--max-request", default=DEFAULT_MAX_REQUEST,
                        help=f"largest body of any other request: API calls, live camera frames (default "
                             f"{DEFAULT_MAX_REQUEST}); larger ones get 413 before they are read")
    parser.add_argument("--share", action="store_true", help="also open a public gradio.live link")
    parser.add_argument("--analytics", action="store_true", help="let Gradio send its usage analytics")
    return parser


@command
def main(argv: Sequence[str] | None = None) -> int:
    """Serve the page until interrupted; 2 on a setup error."""
    args = build_parser().parse_args(argv)
    from fast_style.infer.stylize import resolve_device

    if args.concurrency < 1 or args.max_pixels < 1:
        raise InvalidValueError(f"--concurrency and --max-pixels must be positive, got {args.concurrency}, {args.max_pixels}")
    limits = request_limits(args.max_request, args.max_upload)  # a bad size: exit 2 before anything is loaded
    library = StyleLibrary(args.models, include_zoo=not args.no_zoo, device=resolve_device(args.device))
    downloads = DownloadFolder()
    try:
        app = build_app(library, max_pixels=args.max_pixels, concurrency=args.concurrency, queue_size=args.queue_size,
                        downloads=downloads, analytics=args.analytics, live_streams=args.live_streams,
                        live_seconds=args.live_seconds)
        print(f"serving {len(library.names())} style(s): {', '.join(library.names())}", flush=True)
        app.launch(server_name=args.host, server_port=args.port, share=args.share, show_error=False, inbrowser=False,
                   max_file_size=parse_size(args.max_upload, "--max-upload"), ssr_mode=False, footer_links=[],
                   app_kwargs=limits)
    finally:
        shutil.rmtree(downloads.root, ignore_errors=True)  # (Gradio's own cache: atexit, in app/__init__)
    return 0


__all__ = ["build_app", "build_parser", "main"]


if __name__ == "__main__":
    sys.exit(main())
