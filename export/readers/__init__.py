"""Weight readers, one per published form, all returning :class:`LoadedWeights`
checked against MSI-Net (every weight present, shapes right, nothing extra).

``read_weights`` is the single entry point the exporter uses:

>>> loaded = read_weights("random", preset=resolve_quality("very_low"))  # doctest: +SKIP
"""

from __future__ import annotations

import os

from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.errors import SaliencyCamError, WeightsError
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

    ``weights_path`` is a local file or directory used instead of downloading: a
    SavedModel folder (hf), a TF.js model folder or its model.json (tfjs), a frozen
    graph ``.pb``, its ``.zip`` or a folder holding it (pb), a ``.weights.h5`` file
    (keras). Without it, hf, tfjs and pb weights are downloaded into the user cache.
    ``device`` picks the original graph for pb: ``cpu`` (NHWC) or ``gpu`` (NCHW); both
    hold the same kind of weights. ``seed`` is for random weights only.
    Every result has been checked against MSI-Net (:func:`check_weights`).
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
    if weights_path is not None and not os.path.exists(weights_path):
        raise WeightsError(f"weights path {weights_path} does not exist: check --weights-path")
    if source == "random":
        from saliency_cam.export.readers.random_weights import random_weights

        return random_weights(seed)
    if source == "hf":
        return _read_hf(weights_path)
    if source == "tfjs":
        return _read_tfjs(preset, weights_path)
    if source == "pb":
        return _read_pb(preset, weights_path, device)
    return _read_keras(preset, weights_path)


def _read_hf(weights_path: str | os.PathLike[str] | None) -> LoadedWeights:
    from saliency_cam.export.readers.hf_savedmodel import read_hf_savedmodel

    if weights_path is not None:
        return read_hf_savedmodel(weights_path)
    from saliency_cam.export.download import fetch_hf_savedmodel
    from saliency_cam.models.registry import HF_REVISION

    return read_hf_savedmodel(fetch_hf_savedmodel(HF_REVISION), revision=HF_REVISION)


def _read_tfjs(preset: Preset, weights_path: str | os.PathLike[str] | None) -> LoadedWeights:
    from saliency_cam.export.readers.tfjs import read_tfjs_model

    if weights_path is not None:
        return read_tfjs_model(weights_path, preset_name=preset.name)
    from saliency_cam.export.download import fetch_tfjs_model

    folder = fetch_tfjs_model(preset.name)
    return read_tfjs_model(folder, preset_name=preset.name, url=preset.tfjs_url or "")


def _read_pb(
    preset: Preset, weights_path: str | os.PathLike[str] | None, device: str
) -> LoadedWeights:
    from saliency_cam.export.readers.frozen_graph import read_frozen_graph

    if device not in ("cpu", "gpu"):
        raise SaliencyCamError(f"unknown device {device!r} for the original graphs: use cpu or gpu")
    if weights_path is None:
        from saliency_cam.export.download import fetch_drive_graph

        weights_path = fetch_drive_graph(preset.dataset, device)
    return read_frozen_graph(weights_path, dataset=preset.dataset, device=device)


def _read_keras(preset: Preset, weights_path: str | os.PathLike[str] | None) -> LoadedWeights:
    from saliency_cam.export.readers.keras_weights import read_keras_weights

    if weights_path is None:
        raise SaliencyCamError(
            "keras weights are files saved by saliency-cam: pass one with "
            "--weights-path FILE.weights.h5"
        )
    return read_keras_weights(weights_path, dataset=preset.dataset, arch=preset.arch)
