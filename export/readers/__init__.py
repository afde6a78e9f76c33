"""Weight readers, one per published form, all returning :class:`LoadedWeights`.

``read_weights`` is the single entry point the exporter uses:

>>> loaded = read_weights("random", preset=resolve_quality("very_low"))  # doctest: +SKIP
"""

from __future__ import annotations

import os

from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.registry import WEIGHT_SOURCES, Preset


def read_weights(
    source: str,
    preset: Preset,
    weights_path: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    device: str = "cpu",
) -> LoadedWeights:
    """Read the weights for ``preset`` from ``source`` (hf, tfjs, pb, keras, random).

    ``weights_path`` is a local file or directory used instead of downloading.
    """
    if source not in WEIGHT_SOURCES:
        raise SaliencyCamError(
            f"unknown weight source {source!r}: choose one of {', '.join(WEIGHT_SOURCES)}"
        )
    if source not in preset.sources:
        raise SaliencyCamError(
            f"weight source {source!r} is not available for {preset.name}: "
            f"use one of {', '.join(preset.sources)}"
        )
    if source == "random":
        from saliency_cam.export.readers.random_weights import random_weights

        return random_weights(seed)
    raise SaliencyCamError(f"weight source {source!r} is not implemented yet")
