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
from saliency_cam.models.architectures import DEFAULT_ARCH, get_architecture
from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import WeightsError
from saliency_cam.models.manifest import sha256_file

SUFFIX = ".weights.h5"


def read_keras_weights(
    path: str | os.PathLike[str],
    *,
    dataset: str = "salicon",
    trained: bool = True,
    arch: str = DEFAULT_ARCH,
) -> LoadedWeights:
    """Read a ``.weights.h5`` file saved from the ``arch`` network's builder (MSI-Net by
    default; e.g. by :func:`save_keras_weights` or a training run). Raises
    :class:`WeightsError` if it does not fit."""
    network = get_architecture(arch)
    source = Path(path)
    if not source.name.endswith(SUFFIX):
        raise WeightsError(f"{source} is not a Keras weights file: its name must end in {SUFFIX}")
    if not source.is_file():
        raise WeightsError(f"{source} does not exist: pass a {SUFFIX} file saved by saliency-cam")
    _check_variable_shapes(source, network.name)

    model = network.build()
    try:
        model.load_weights(source)
    except (ValueError, OSError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{source} does not fit {network.title} ({first})") from exc
    extracted = network.keras_module().extract_weights(model)
    weights = check_weights(extracted, str(source), network.name)
    return LoadedWeights(
        weights,
        source="keras",
        revision=f"sha256:{sha256_file(source)[:16]}",
        dataset=dataset,
        trained=trained,
        origin=f"Keras weights {source.name}",
        arch=network.name,
    )


def save_keras_weights(
    weights: Mapping[str, np.ndarray], path: str | os.PathLike[str], arch: str = DEFAULT_ARCH
) -> Path:
    """Write ``weights`` (a checked scope mapping of ``arch``) as a Keras ``.weights.h5``
    file that :func:`read_keras_weights` reads back; atomic (no half file under ``path``)."""
    final = Path(path)
    if not final.name.endswith(SUFFIX):
        raise WeightsError(f"{final}: Keras weights files must end in {SUFFIX}")
    network = get_architecture(arch)
    checked = check_weights(weights, "weights to save", network.name)

    model = network.build()
    network.keras_module().load_weights(model, checked)
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


def _check_variable_shapes(source: Path, arch: str = DEFAULT_ARCH) -> None:
    """Refuse a file whose variables are not exactly the network's (Keras would ignore
    extra ones)."""
    network = get_architecture(arch)
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
    expected = sorted(network.expected_shapes.values())
    if network.expected_shapes and sorted(shapes) != expected:
        raise WeightsError(
            f"{source} holds {len(shapes)} variables, {network.title} has {len(expected)} "
            f"(or their shapes differ): it was not saved from this project's {network.title}"
        )
