"""Seeded random-weight (UNTRAINED) student networks for speed measurements: the lite
network (``saliency-cam train --arch lite``) at a quality preset's input size, exported
through the ordinary exporter (same parity gate, same quantiser) as a user model called
``lite_<quality>``, so ``open_session("lite_very_high", …)`` and
``saliency-cam video --model lite_very_high`` run it like any model.

Speed does not depend on weight values, so ``saliency-cam bench`` and
``benchmarks/lite_speed.py`` time the student this way anywhere, offline; every variant
says ``trained: false``. Up-to-date variants are kept (the exporter's own staleness
check), so a second run costs nothing.

>>> export_random_students(["very_low"], Path("bench-models"), ["fp32", "int8"])  # doctest: +SKIP
{'very_low': 'lite_very_low'}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

from saliency_cam.models.manifest import Manifest, UserModel
from saliency_cam.models.registry import arch_presets, resolve_quality, user_preset

#: The architecture the benchmark calls "the student".
STUDENT_ARCH = "lite"


def student_preset(quality: str, arch: str = STUDENT_ARCH) -> str | None:
    """``quality``'s canonical name if ``arch`` is offered at it (the five qualities,
    and ``ultra`` for the lite network), else None."""
    key = quality.strip().lower().replace("-", "_").replace(" ", "_")
    return key if key in arch_presets(arch) else None


def student_name(quality: str, arch: str = STUDENT_ARCH) -> str:
    """The user-model name of ``arch`` at ``quality``: ``lite_very_high``."""
    return f"{arch}_{student_preset(quality, arch) or resolve_quality(quality).name}"


def export_random_students(
    qualities: Sequence[str],
    models_dir: str | Path,
    precisions: Sequence[str] = ("fp32",),
    *,
    arch: str = STUDENT_ARCH,
    seed: int = 0,
    progress: bool = True,
) -> dict[str, str]:
    """Export ``arch`` with seeded random weights at each quality's input size into
    ``models_dir`` in ``precisions`` (int8/fp16/bf16 derived from fp32 as for MSI-Net);
    returns ``{quality: model name}``. Qualities ``arch`` is not offered at are left out
    (``ultra``, 480×640, is the lite network's own).

    Each is registered as a user model and exported from ``random`` weights, so its
    manifest entries say UNTRAINED and are re-used while up to date. No ``.weights.h5``
    is kept: ``saliency-cam export --model NAME`` would otherwise re-export those random
    weights as if trained (it reads a user model's file as trained weights).
    """
    from saliency_cam.export.variants import export_presets

    directory = Path(models_dir)
    directory.mkdir(parents=True, exist_ok=True)
    offered = arch_presets(arch)
    names: dict[str, str] = {}
    presets = []
    for quality in qualities:
        canonical = student_preset(quality, arch)
        if canonical is None:
            continue
        name = student_name(canonical, arch)
        size = offered[canonical]
        description = f"seeded random (UNTRAINED) {arch} network at {canonical}, for speed only"
        preset = user_preset(name, *size, dataset="none", description=description, arch=arch)
        _register(directory, name, size, description, arch)
        # a user model normally exports from its trained .weights.h5 ("keras"); this one
        # from seeded random weights, so it stays labelled UNTRAINED
        presets.append(dataclasses.replace(preset, sources=("random",), default_source="random"))
        names[canonical] = name
    if presets:
        export_presets(
            presets,
            "random",
            models_dir=directory,
            precisions=precisions,
            progress=progress,
            seed=seed,
        )
    return names


def _register(
    directory: Path, name: str, size: tuple[int, int], description: str, arch: str
) -> None:
    """Register user model ``name`` (``arch`` at ``size``) unless it is already, as is."""
    with Manifest.editing(directory) as manifest:
        known = manifest.user_models.get(name)
        if known is not None and (known.height, known.width, known.arch) == (*size, arch):
            return
        manifest.put_user_model(
            UserModel(
                name=name,
                height=size[0],
                width=size[1],
                dataset="none",
                description=description,
                folder=f"user/{name}",
                created=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                arch=arch,
            )
        )
