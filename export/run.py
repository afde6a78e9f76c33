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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
class ExportOptions:
    """What an export makes, with the defaults: the one owner of the options that
    :func:`export` takes (its signature mirrors these fields, held so by a test) and the
    command passes to :func:`export_with_cost`. Names as the command takes them."""

    quality: Sequence[str] | str | None = None
    dataset: Sequence[str] | str | None = None
    model: Sequence[str] | str | None = None
    weights: str | None = None
    weights_path: str | os.PathLike[str] | None = None
    precision: Sequence[str] | str = ("fp32",)
    models_dir: str | os.PathLike[str] | None = None
    force: bool = False
    seed: int = 0

    @property
    def precisions(self) -> list[str]:
        """The precisions to make, as a list (none given: fp32)."""
        return _names(self.precision) or ["fp32"]

    def plan(self) -> tuple[list[Preset], Path]:
        """:func:`plan_export` for these options (checked before TensorFlow loads)."""
        return plan_export(
            _names(self.quality),
            _names(self.dataset),
            _names(self.model),
            self.weights,
            self.precisions,
            self.models_dir,
        )


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
    # The parameters, exactly (the first statement: nothing else is local yet), handed
    # on whole: ExportOptions owns the set, this signature only spells it out for readers
    infos, _ = export_with_cost(**locals())
    return infos


def _names(value: Sequence[str] | str | None) -> list[str] | None:
    return [value] if isinstance(value, str) else (list(value) if value else None)


def export_with_cost(*, on_plan: object = None, **options: Any) -> tuple[list[VariantInfo], Cost]:
    """:func:`export`, also returning what it cost (seconds, peak memory). ``options``
    are :class:`ExportOptions`' fields (an unknown one is a TypeError, as for a
    function). ``on_plan`` (``callable(presets, directory)``) runs once the request is
    checked, before TensorFlow loads: the command prints its first line there."""
    from saliency_cam.export import require_export_extra

    request = ExportOptions(**options)
    presets, directory = request.plan()
    if callable(on_plan):
        on_plan(presets, directory)
    require_export_extra("export")
    from saliency_cam.export.variants import export_presets

    with measure_cost() as cost:
        results = export_presets(
            presets,
            request.weights,
            None if request.weights_path is None else Path(request.weights_path),
            directory,
            force=request.force,
            seed=request.seed,
            precisions=request.precisions,
        )
    return list(results), cost
