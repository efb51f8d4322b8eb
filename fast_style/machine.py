"""What machine this is, in the words numbers are quoted with (CPU model, bf16 support).

The build machines differ (AVX2-only, AVX-512 with bf16, AMX), so the same training step can
take twice as long on one as on another: every benchmark and every trained network records
the CPU it ran on.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

# Where a network runs (auto: CUDA when available) and the autocast formats it runs in (fp16 needs CUDA): the
# choices of every command's --device and --precision, and what fast_style.infer.stylize checks them against.
DEVICES = ("auto", "cpu", "cuda")
PRECISIONS = ("fp32", "fp16", "bf16")


def native_bf16() -> bool:
    """Whether this CPU computes bf16 natively (AVX512-BF16 or AMX): only then is bf16 autocast faster."""
    import torch  # here: the command-line helpers read DEVICES without loading torch

    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


def cpu_name() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux), else what ``platform`` knows."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def describe_cpu() -> str:
    """One line such as ``"Intel(R) Xeon(R) Processor, 2 cores, native bf16"``."""
    bf16 = "native bf16" if native_bf16() else "no native bf16"
    return f"{cpu_name()}, {os.cpu_count()} cores, {bf16}"
