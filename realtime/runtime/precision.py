"""``--precision auto``: the fastest exported variant that meets the fidelity bar on the
chosen device.

On CPU that is int8 (integer kernels), on a GPU provider fp16 (tensor cores); fp32 is
always the fallback. A variant counts only if it is in the manifest, its file exists,
and its measured fidelity let the exporter mark it ``default_ok`` (CC ≥ 0.99 vs fp32).

>>> pick_precision("medium", "cpu", models_dir)          # doctest: +SKIP
'int8'
"""

from __future__ import annotations

import os

from saliency_cam.models.manifest import PRECISIONS, Manifest, VariantInfo
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import resolve_preset
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers

#: Preference per device kind, fastest first.
CPU_ORDER: tuple[str, ...] = ("int8", "fp32")
GPU_ORDER: tuple[str, ...] = ("fp16", "fp32")


def precision_order(choice: ProviderChoice) -> tuple[str, ...]:
    """Precisions worth trying on ``choice``'s primary provider, fastest first."""
    return GPU_ORDER if choice.is_gpu else CPU_ORDER


def usable_by_default(info: VariantInfo | None) -> bool:
    """Exported, present on disk, and not marked down by its fidelity check."""
    return info is not None and info.default_ok and info.path.is_file()


def pick_precision(
    preset: str,
    device_choice: ProviderChoice | str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
) -> str:
    """The precision ``--precision auto`` runs ``preset`` at on ``device_choice`` (a
    :class:`ProviderChoice` or a device name).

    Returns ``"fp32"`` when no faster variant qualifies, including when nothing is
    exported yet (opening it then gives the usual "run saliency-cam export" error).
    """
    choice = (
        device_choice
        if isinstance(device_choice, ProviderChoice)
        else choose_providers(device_choice)
    )
    name = resolve_preset(preset, models_dir).name
    manifest = Manifest.load(resolve_models_dir(models_dir))
    for precision in precision_order(choice):
        if usable_by_default(manifest.find(name, precision)):
            return precision
    return "fp32"


def check_precision(precision: str) -> str:
    """Normalise a ``--precision`` value: ``auto`` or one of fp32/fp16/int8."""
    from saliency_cam.models.errors import SaliencyCamError

    value = precision.strip().lower()
    if value == "auto" or value in PRECISIONS:
        return value
    raise SaliencyCamError(f"unknown precision {precision!r}: choose auto, {', '.join(PRECISIONS)}")
