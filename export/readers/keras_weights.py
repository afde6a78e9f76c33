"""Keras weights written by this project (``model.save_weights`` of ``build_msinet()``).

Keras 3 stores a ``.weights.h5`` file by the model's object structure, not by layer
names, and silently ignores anything left over in the file. So the reader loads the
file into a freshly built MSI-Net (which checks what is there) and also counts the
variables in the file (which catches anything extra).

>>> save_keras_weights(read_weights("random", preset).weights, "mine.weights.h5")  # doctest: +SKIP
>>> read_keras_weights("mine.weights.h5").source  # doctest: +SKIP
'keras'
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from saliency_cam.export.weights import LoadedWeights, check_weights
from saliency_cam.models.architecture import EXPECTED_SHAPES
from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import WeightsError
from saliency_cam.models.manifest import sha256_file

SUFFIX = ".weights.h5"


def read_keras_weights(
    path: str | os.PathLike[str],
    *,
    dataset: str = "salicon",
    trained: bool = True,
    arch: str = "msinet",
) -> LoadedWeights:
    """Read a ``.weights.h5`` file saved from :func:`build_msinet` (e.g. by
    :func:`save_keras_weights`), or with ``arch="lite"`` from
    :func:`~saliency_cam.models.lite.build_lite`. Raises :class:`WeightsError` if it
    does not fit."""
    source = Path(path)
    if not source.name.endswith(SUFFIX):
        raise WeightsError(f"{source} is not a Keras weights file: its name must end in {SUFFIX}")
    if not source.is_file():
        raise WeightsError(f"{source} does not exist: pass a {SUFFIX} file saved by saliency-cam")
    if arch == "lite":
        return _read_lite(source, dataset, trained)
    _check_variable_shapes(source)

    from saliency_cam.models.msinet import build_msinet, extract_weights

    model = build_msinet()
    try:
        model.load_weights(source)
    except (ValueError, OSError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{source} does not fit MSI-Net ({first})") from exc
    weights = check_weights(extract_weights(model), str(source))
    return LoadedWeights(
        weights,
        source="keras",
        revision=f"sha256:{sha256_file(source)[:16]}",
        dataset=dataset,
        trained=trained,
        origin=f"Keras weights {source.name}",
    )


def _read_lite(source: Path, dataset: str, trained: bool) -> LoadedWeights:
    """A lite network's ``.weights.h5`` (as the trainer saves it) as a weight map whose
    ``extra`` names the architecture (the exporter builds the lite network for it)."""
    from saliency_cam.models import lite

    model = lite.build_lite()
    try:
        model.load_weights(source)
    except (ValueError, OSError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{source} does not fit the lite network ({first})") from exc
    return LoadedWeights(
        lite.extract_weights(model),
        source="keras",
        revision=f"sha256:{sha256_file(source)[:16]}",
        dataset=dataset,
        trained=trained,
        origin=f"Keras weights {source.name}",
        extra={"arch": lite.ARCH},
    )


def save_keras_weights(weights: Mapping[str, np.ndarray], path: str | os.PathLike[str]) -> Path:
    """Write ``weights`` (a checked scope mapping) as a Keras ``.weights.h5`` file that
    :func:`read_keras_weights` reads back; atomic (no half file under ``path``)."""
    final = Path(path)
    if not final.name.endswith(SUFFIX):
        raise WeightsError(f"{final}: Keras weights files must end in {SUFFIX}")
    checked = check_weights(weights, "weights to save")

    from saliency_cam.models.msinet import build_msinet, load_weights

    model = build_msinet()
    load_weights(model, checked)
    with atomic_output(final) as tmp:
        # Keras insists on the suffix, which the atomic temp name lacks: save in a
        # private folder next to it, then move over the temp file.
        folder = Path(tempfile.mkdtemp(prefix=".keras-", dir=final.parent))
        try:
            staged = folder / final.name
            model.save_weights(staged)
            os.replace(staged, tmp)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return final


def _check_variable_shapes(source: Path) -> None:
    """Refuse a file whose variables are not exactly MSI-Net's (Keras would ignore
    extra ones)."""
    import h5py

    shapes: list[tuple[int, ...]] = []

    def visit(name: str, obj: object) -> None:
        if isinstance(obj, h5py.Dataset) and "/vars/" in f"/{name}":
            shapes.append(tuple(obj.shape))

    try:
        with h5py.File(source, "r") as h5:
            h5.visititems(visit)
    except OSError as exc:
        raise WeightsError(
            f"{source} is not a readable HDF5 file ({exc}): is it truncated?"
        ) from exc
    expected = sorted(EXPECTED_SHAPES.values())
    if sorted(shapes) != expected:
        raise WeightsError(
            f"{source} holds {len(shapes)} variables, MSI-Net has {len(expected)} "
            "(or their shapes differ): it was not saved from this project's MSI-Net"
        )
