"""Load-test the web app: start it on a local port, send requests from concurrent clients, check every answer.

Used by ``scripts/bench_app.py`` and the test suite. Each request sends its own photo, and its
answer is checked against that photo stylised locally, so a lost, duplicated or mixed-up
answer is caught, not just a missing one.
"""

from __future__ import annotations

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

APP_MODULE = "fast_style.infer.app.ui"  # what scripts/app.py and fast-style-app run


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(arguments: Sequence[str], port: int, timeout: float = 180.0) -> subprocess.Popen:
    """Run ``scripts/app.py ARGUMENTS --port PORT`` and wait until the page answers.

    Raises:
        RuntimeError: the server exited or did not answer within ``timeout`` seconds (its output attached).
    """
    # A file, not a pipe: a chatty server must never block on a full pipe nobody reads.
    log = tempfile.TemporaryFile(mode="w+")  # lives as long as the process
    process = subprocess.Popen([sys.executable, "-m", APP_MODULE, *arguments, "--port", str(port)],
                               stdout=log, stderr=subprocess.STDOUT, text=True)
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


def run_load(url: str, photos: Sequence[Path], style: str, clients: int, max_side: int = 1024) -> LoadReport:
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
            _, download, _ = local.client.predict(handle_file(str(photos[index])), style, 1.0, False, max_side, "PNG",
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


__all__ = ["LoadReport", "free_port", "peak_memory_mb", "run_load", "start_server"]
