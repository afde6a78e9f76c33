"""Facts about this machine, read in one place: the CPU's model and flags
(``/proc/cpuinfo``), NVIDIA GPUs (``nvidia-smi``) and memory. The benchmark's hardware
report, ``--backend auto``'s cache key, the TensorRT engine cache and the run statistics
all ask here, and tests that depend on the CPU kind fake :func:`cpu_flags` (one function
to patch) instead of assuming the machine they run on.

>>> "avx2" in cpu_flags() or not cpu_flags()      # an x86 CPU names it; elsewhere empty
True
>>> has_cpu_features("amx_int8", flags=frozenset({"amx_int8", "avx2"}))
True
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from functools import lru_cache

#: CPU flags that change the kernels the backends run (x86 /proc/cpuinfo names).
CPU_FEATURES: tuple[str, ...] = (
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512_vnni",
    "avx_vnni",
    "avx512_bf16",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
)


@lru_cache(maxsize=1)
def _cpuinfo() -> tuple[str, frozenset[str]]:
    model, flags = "", frozenset[str]()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name") and not model:
                    model = line.split(":", 1)[1].strip()
                elif line.startswith("flags") and not flags:
                    flags = frozenset(line.split(":", 1)[1].split())
                if model and flags:
                    break
    except OSError:
        pass
    return model, flags


def cpu_model() -> str:
    """The CPU's model name (``AMD EPYC …``), or what the platform says."""
    return _cpuinfo()[0] or platform.processor() or platform.machine()


def cpu_flags() -> frozenset[str]:
    """Every flag the CPU reports (Linux x86; empty elsewhere)."""
    return _cpuinfo()[1]


def cpu_features(flags: frozenset[str] | None = None) -> list[str]:
    """Which of :data:`CPU_FEATURES` this CPU (or ``flags``) has, in that order."""
    have = cpu_flags() if flags is None else flags
    return [name for name in CPU_FEATURES if name in have]


def has_cpu_features(*names: str, flags: frozenset[str] | None = None) -> bool:
    """True when the CPU (or ``flags``) has every one of ``names``."""
    have = cpu_flags() if flags is None else flags
    return all(name in have for name in names)


def cpu_kind(flags: frozenset[str] | None = None) -> str:
    """A short name of the CPU kind, as the benchmarks record it: ``AMX``,
    ``AVX-512 BF16``, ``AVX-512 VNNI``, ``AVX-512``, ``AVX2`` or ``other``."""
    have = cpu_flags() if flags is None else flags
    if {"amx_int8", "amx_bf16"} & have:
        return "AMX"
    if "avx512_bf16" in have:
        return "AVX-512 BF16"
    if "avx512_vnni" in have:
        return "AVX-512 VNNI"
    if "avx512f" in have:
        return "AVX-512"
    return "AVX2" if "avx2" in have else "other"


def nvidia_gpus() -> list[dict[str, str]]:
    """Name, driver version and memory of each NVIDIA GPU (empty without nvidia-smi)."""
    smi = shutil.which("nvidia-smi")
    if not smi:
        return []
    query = "--query-gpu=name,driver_version,memory.total"
    try:
        out = subprocess.run(
            [smi, query, "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    gpus = []
    for line in out.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) == 3:
            gpus.append({"name": parts[0], "driver": parts[1], "memory": parts[2]})
    return gpus


def gpu_name() -> str:
    """The first NVIDIA GPU's name, or ``""``."""
    gpus = nvidia_gpus()
    return gpus[0]["name"] if gpus else ""


def memory_gb() -> float | None:
    """Physical memory in GiB (one decimal), or None where the OS does not say."""
    try:
        return round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (AttributeError, ValueError, OSError):
        return None
