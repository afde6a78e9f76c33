"""The hardware fingerprint stored with every benchmark result, so numbers from
different machines can be told apart and compared.

Extends :func:`saliency_cam.realtime.pipeline.stats.hardware_info` (CPU, cores, OS, library
versions) with memory, the CPU features that decide int8/bf16 speed, the GPU's name,
driver and memory (nvidia-smi), TensorFlow's version (read from package metadata, so
TensorFlow is not imported) and the current load average: on a shared machine a
loaded CPU explains slow figures.

>>> fp = fingerprint(["CPUExecutionProvider"])       # doctest: +SKIP
>>> machine_label(fp)                                  # doctest: +SKIP
'AMD EPYC (2 cores)'
"""

from __future__ import annotations

import hashlib
import json
import os
from importlib import metadata
from typing import Any

from saliency_cam.models import machine
from saliency_cam.realtime.pipeline.stats import hardware_info

#: CPU flags that matter for this model's kernels (read by models/machine.py).
CPU_FEATURES = machine.CPU_FEATURES
cpu_features = machine.cpu_features
nvidia_gpus = machine.nvidia_gpus


def fingerprint(providers: list[str] | None = None) -> dict[str, Any]:
    """Describe this machine and software stack (see the module docstring)."""
    info = hardware_info(providers)
    info["memory_gb"] = machine.memory_gb()
    info["cpu_features"] = machine.cpu_features()
    info["cpu_kind"] = machine.cpu_kind()
    info["cpu_units"] = cpu_units(info["cpu_features"])
    info["tensorflow"] = _package_version("tensorflow", "tensorflow-cpu", "tensorflow-macos")
    info["onnxruntime_package"] = _package_version(
        "onnxruntime", "onnxruntime-gpu", "onnxruntime-directml", "onnxruntime-openvino"
    )
    info["openvino"] = _package_version("openvino")
    gpus = machine.nvidia_gpus()
    if gpus:
        info["gpus"] = gpus
    try:
        info["load_average"] = [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        info["load_average"] = None
    info["id"] = fingerprint_id(info)
    return info


def fingerprint_id(info: dict[str, Any]) -> str:
    """A short hash of what identifies the machine and stack (not the load)."""
    keys = ("cpu", "logical_cores", "memory_gb", "gpus", "onnxruntime", "os")
    stable = {k: info.get(k) for k in keys}
    return hashlib.sha256(json.dumps(stable, sort_keys=True).encode()).hexdigest()[:12]


def machine_label(info: dict[str, Any]) -> str:
    """A short human label: CPU model and cores, plus the GPU if there is one."""
    label = f"{info.get('cpu', '?')} ({info.get('logical_cores', '?')} cores)"
    amx = (info.get("cpu_units") or {}).get("amx")
    if amx:  # int8/bf16 there run several times the fp32 peak: say so beside the name
        label += f" with {amx}"
    gpus = info.get("gpus") or []
    if gpus:
        label += f" + {gpus[0].get('name', 'GPU')}"
    return label


def cpu_units(features: list[str]) -> dict[str, str | None]:
    """The CPU's fast paths per precision, named for a reader: ``amx`` (AMX tiles, with
    int8 and/or bf16; None without), ``int8`` (the best int8 dot product: ``AMX``,
    ``AVX512-VNNI``, ``AVX-VNNI``, else ``AVX2``), ``bf16`` (``AMX``, ``AVX512_BF16`` or
    None: no native bf16, OpenVINO would emulate it).

    >>> cpu_units(["avx2", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_bf16", "amx_int8"])
    {'amx': 'AMX (int8, bf16)', 'int8': 'AMX', 'bf16': 'AMX'}
    >>> cpu_units(["avx2", "fma"])
    {'amx': None, 'int8': 'AVX2', 'bf16': None}
    """
    have = set(features)
    amx = [kind for kind in ("int8", "bf16") if f"amx_{kind}" in have]
    if "amx_int8" in have:
        int8 = "AMX"
    elif "avx512_vnni" in have:
        int8 = "AVX512-VNNI"
    elif "avx_vnni" in have:
        int8 = "AVX-VNNI"
    else:
        int8 = "AVX2" if "avx2" in have else "none"
    bf16 = "AMX" if "amx_bf16" in have else "AVX512_BF16" if "avx512_bf16" in have else None
    return {"amx": f"AMX ({', '.join(amx)})" if amx else None, "int8": int8, "bf16": bf16}


def _package_version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None
