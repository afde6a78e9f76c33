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
    gpus = info.get("gpus") or []
    if gpus:
        label += f" + {gpus[0].get('name', 'GPU')}"
    return label


def _package_version(*names: str) -> str | None:
    for name in names:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return None
