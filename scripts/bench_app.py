"""Load-test the web app: start it on a local port, send requests from concurrent clients, check every answer.

    python scripts/bench_app.py --style candy --requests 20 --clients 4 --concurrency 2

Each request sends its own photo (random pixels, each its own size), and its answer is checked
against that photo stylised locally, so a lost, duplicated or mixed-up answer is caught, not
just a missing one. Prints the seconds for all requests and the server's peak resident memory.
The test suite (``tests/test_app_served.py``) runs the same functions. Needs the ``app`` extra.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

APP_MODULE = "fast_style.infer.app.ui"  # what scripts/app.py and fast-style-app run


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(arguments: Sequence[str], port: int, timeout: float = 180.0,
                 env: dict[str, str] | None = None) -> subprocess.Popen:
    """Run ``scripts/app.py ARGUMENTS --port PORT`` and wait until the page answers.

    Raises:
        RuntimeError: the server exited or did not answer within ``timeout`` seconds (its output attached).
    """
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    log = tempfile.TemporaryFile(mode="w+")  # lives as long as the process
    process = subprocess.Popen([sys.executable, "-m", APP_MODULE, *arguments, "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, text=True, env=env)
    process.log = log  # type: ignore[attr-defined]  # for callers that want to read what it said
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"the app exited with {process.returncode}: {log.read()[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                if response.status == 200:
                    return process
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"the app did not answer on port {port} within {timeout:g} s")


def peak_memory_mb(pid: int) -> float:
    """The process's peak resident set size (VmHWM) in MB, from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmHWM for process {pid}")


@dataclass
class LoadReport:
    """What came back: per request, the photo sent and the file received (None if lost)."""

    received: dict[int, Path | None] = field(default_factory=dict)
    errors: dict[int, str] = field(default_factory=dict)
    seconds: float = 0.0
    most_in_flight: int = 0


def run_load(url: str, photos: Sequence[Path], style: str, clients: int, max_size: int = 1024) -> LoadReport:
    """Send one request per photo from ``clients`` concurrent gradio_client clients.

    Returns:
        A :class:`LoadReport`; ``received[i]`` is the downloaded result of ``photos[i]``.
    """
    from gradio_client import Client, handle_file

    report, lock, in_flight = LoadReport(), threading.Lock(), [0]
    local = threading.local()

    def one(index: int) -> None:
        if not hasattr(local, "client"):
            local.client = Client(url, verbose=False)
        with lock:
            in_flight[0] += 1
            report.most_in_flight = max(report.most_in_flight, in_flight[0])
        try:
            _, download, _ = local.client.predict(handle_file(str(photos[index])), style, 1.0, False, max_size, "PNG",
                                                  api_name="/stylise")
            report.received[index] = Path(download)
        except Exception as error:  # noqa: BLE001  # every failure is reported per request
            report.received[index] = None
            report.errors[index] = f"{type(error).__name__}: {error}"
        finally:
            with lock:
                in_flight[0] -= 1

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=clients) as pool:
        list(pool.map(one, range(len(photos))))
    report.seconds = time.perf_counter() - started
    return report


def wrong_answers(report: LoadReport, photos: Sequence[Path], model) -> list[int]:
    """Indices of the requests whose answer is missing or not ``model``'s stylisation of their photo.

    The app sends PNGs, so an answer may differ from the local result by half a level of 255 (rounding).
    """
    from fast_style.infer.stylize import stylize
    from fast_style.io import load_image

    wrong = []
    for index, photo in enumerate(photos):
        received = report.received.get(index)
        expected = stylize(model, load_image(photo)[0])
        got = load_image(received)[0] if received is not None else None
        if got is None or got.shape != expected.shape or (got - expected).abs().max() > 0.5 / 255 + 1e-6:
            wrong.append(index)
    return wrong


def random_photos(folder: Path, count: int, side: int) -> list[Path]:
    """``count`` PNGs of random pixels, ``side - count + i`` × ``side`` pixels: no two alike."""
    import torch
    from PIL import Image

    photos = []
    for index in range(count):
        array = (torch.rand(side - count + index, side, 3, generator=torch.Generator().manual_seed(index)) * 255)
        photos.append(folder / f"photo_{index:03d}.png")
        Image.fromarray(array.byte().numpy()).save(photos[-1])
    return photos


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="candy", help="a shipped style (default candy)")
    parser.add_argument("--requests", type=int, default=20, help="photos sent, one request each (default 20)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients (default 4)")
    parser.add_argument("--concurrency", type=int, default=2, help="the server's --concurrency (default 2)")
    parser.add_argument("--size", type=int, default=256, help="photo side in pixels (default 256)")
    args = parser.parse_args(argv)
    if min(args.requests, args.clients, args.concurrency) < 1 or args.size - args.requests < 16:
        parser.error("--requests, --clients and --concurrency must be >= 1, and --size at least --requests + 16")
    from fast_style.infer.stylize import load_model

    model = load_model(args.style)
    port = free_port()
    server = start_server(["--concurrency", str(args.concurrency)], port)
    try:
        with tempfile.TemporaryDirectory() as folder:
            photos = random_photos(Path(folder), args.requests, args.size)
            report = run_load(f"http://127.0.0.1:{port}/", photos, args.style, args.clients)
            wrong = wrong_answers(report, photos, model)
        memory = peak_memory_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{args.requests} requests of {args.size} px from {args.clients} clients (server --concurrency "
          f"{args.concurrency}), style {args.style}: {report.seconds:.1f} s, at most {report.most_in_flight} in "
          f"flight, server peak memory {memory:.0f} MB; {len(wrong)} wrong or lost")
    for index, error in sorted(report.errors.items()):
        print(f"  request {index}: {error}")
    return 1 if wrong else 0


__all__ = ["LoadReport", "free_port", "peak_memory_mb", "random_photos", "run_load", "start_server", "wrong_answers"]


if __name__ == "__main__":
    sys.exit(main())
