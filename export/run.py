"""``saliency_cam.export``: make ONNX variants from Python, as ``saliency-cam export``
does (the command parses its options and calls :func:`export`).

>>> from saliency_cam import export
>>> infos = export(quality=["very_low"], weights="random", models_dir="models/")  # doctest: +SKIP
>>> infos[0].precision, infos[0].trained                                           # doctest: +SKIP
('fp32', False)
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from saliency_cam.models.cost import Cost, measure_cost
from saliency_cam.models.manifest import VariantInfo
from saliency_cam.models.registry import Preset


def plan_export(
    quality: Sequence[str] | None = None,
    dataset: Sequence[str] | None = None,
    model: Sequence[str] | None = None,
    weights: str | None = None,
    precision: Sequence[str] = ("fp32",),
    models_dir: str | os.PathLike[str] | None = None,
) -> tuple[list[Preset], Path]:
    """The presets an export would make, and the models folder, checked before
    TensorFlow is imported or the folder is touched (a bad name fails in a second)."""
    from saliency_cam.export.variants import quantizer, resolve_presets, source_for
    from saliency_cam.models.paths import models_dir as resolve_models_dir
    from saliency_cam.models.registry import resolve_preset

    directory = resolve_models_dir(models_dir)
    named = [resolve_preset(name, directory) for name in model or []]
    presets = [*named, *resolve_presets(quality, dataset)] if quality or dataset else named
    presets = presets or resolve_presets(None, None)
    for preset in presets:
        source_for(preset, weights)
    for name in precision:
        if name != "fp32":
            quantizer(name)
    return presets, directory


def export(
    quality: Sequence[str] | str | None = None,
    *,
    dataset: Sequence[str] | str | None = None,
    model: Sequence[str] | str | None = None,
    weights: str | None = None,
    weights_path: str | os.PathLike[str] | None = None,
    precision: Sequence[str] | str = ("fp32",),
    models_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    seed: int = 0,
) -> list[VariantInfo]:
    """Export ONNX variants into the models folder and record them in its manifest
    (up-to-date ones are skipped). Names as the command takes them: ``quality``
    (very_low … very_high), ``dataset`` (salicon, mit1003, …), ``model`` (a trained
    user model); none of them: the five qualities. ``weights`` picks the source
    (``random`` = seeded UNTRAINED weights, for tests and speed only). Needs the export
    extra (TensorFlow). Returns the recorded variants.
    """
    infos, _ = export_with_cost(
        quality=quality,
        dataset=dataset,
        model=model,
        weights=weights,
        weights_path=weights_path,
        precision=precision,
        models_dir=models_dir,
        force=force,
        seed=seed,
    )
    return infos


def _names(value: Sequence[str] | str | None) -> list[str] | None:
    return [value] if isinstance(value, str) else (list(value) if value else None)


def export_with_cost(
    *,
    quality: Sequence[str] | str | None = None,
    dataset: Sequence[str] | str | None = None,
    model: Sequence[str] | str | None = None,
    weights: str | None = None,
    weights_path: str | os.PathLike[str] | None = None,
    precision: Sequence[str] | str = ("fp32",),
    models_dir: str | os.PathLike[str] | None = None,
    force: bool = False,
    seed: int = 0,
    on_plan: object = None,
) -> tuple[list[VariantInfo], Cost]:
    """:func:`export`, also returning what it cost (seconds, peak memory). ``on_plan``
    (``callable(presets, directory)``) runs once the request is checked, before
    TensorFlow loads: the command prints its first line there."""
    from saliency_cam.export import require_export_extra

    precisions = _names(precision) or ["fp32"]
    presets, directory = plan_export(
        _names(quality), _names(dataset), _names(model), weights, precisions, models_dir
    )
    if callable(on_plan):
        on_plan(presets, directory)
    require_export_extra("export")
    from saliency_cam.export.variants import export_presets

    with measure_cost() as cost:
        results = export_presets(
            presets,
            weights,
            None if weights_path is None else Path(weights_path),
            directory,
            force=force,
            seed=seed,
            precisions=precisions,
        )
    return list(results), cost
