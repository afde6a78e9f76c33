"""Where the weights of a training run start (``--init``).

* ``random``: seeded Glorot/zeros, as Keras initialises (tests and experiments).
* ``vgg16`` (or ``imagenet``): Keras' ImageNet VGG16 (``keras.applications.VGG16``,
  downloaded by Keras into ``~/.keras``; or ``--init-path`` to its ``.h5`` file). That model is the
  Caffe-converted one expecting BGR input; MSI-Net feeds RGB, so conv1_1's input
  channels are reversed when copied (docs/design.md §10). The rest starts random.
* ``vgg16_hybrid``: the original's TF1 checkpoint (ImageNet + Places; Drive id in the
  registry), variables ``conv1/conv1_1/weights`` / ``biases`` …; ``--init-path`` to
  the checkpoint prefix, folder or zip, or downloaded with gdown.
* a preset name (``salicon``, ``mit1003`` …, ``very_low`` … ``very_high``): its
  published weights, through the export step's readers (the same arrays export reads).
* a path: a ``.weights.h5`` / ``.pb`` / ``.zip`` / TF.js folder or ``model.json`` /
  SavedModel folder, or a previous run's folder (its best weights).

The VGG-16 starts fit every architecture here (they share its 13 convolutions). For
ML-Net (``arch="mlnet"``) a path may also be the authors' published Keras 1/Theano
HDF5 weights (:mod:`saliency_cam.export.readers.mlnet_h5`); the MSI-Net presets are
refused (they are another network's weights).

>>> start = initial_weights("salicon", weights_path="model_salicon_cpu.pb")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from saliency_cam.export.weights import WeightMap
from saliency_cam.models.architecture import EXPECTED_SHAPES
from saliency_cam.models.errors import DownloadError, SaliencyCamError, WeightsError
from saliency_cam.models.registry import (
    DATASET_PRESETS,
    QUALITY_PRESETS,
    VGG16_HYBRID_DRIVE_ID,
    resolve_preset,
)

#: The 13 VGG16 convolutions MSI-Net's encoder shares, in order.
VGG_SCOPES: tuple[str, ...] = tuple(
    f"conv{block}/conv{block}_{i}"
    for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
    for i in range(1, count + 1)
)
#: Keras' VGG16 layer names for the same convolutions.
KERAS_VGG_LAYERS: tuple[str, ...] = tuple(
    f"block{block}_conv{i}"
    for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3))
    for i in range(1, count + 1)
)
INITS = ("random", "vgg16", "imagenet", "vgg16_hybrid", *QUALITY_PRESETS, *DATASET_PRESETS)
#: Said under every failed download of start weights: what works without a network.
OFFLINE_HINT = (
    "offline? --init random trains from seeded random weights (no download), "
    "or pass a downloaded file with --init-path"
)


def offline_error(exc: Exception, message: str | None = None) -> DownloadError:
    """A failed download of start weights as one error: what failed (the fetchers'
    advice, which names export's --weights-path, pointed at --init-path) and, on its
    own line, :data:`OFFLINE_HINT`."""
    text = (message or str(exc)).replace("--weights-path", "--init-path")
    return DownloadError(f"{text}\n  {OFFLINE_HINT}")


@dataclass
class Start:
    """Initial weights (possibly partial: only the encoder for VGG16) and their origin."""

    weights: WeightMap
    description: str


def initial_weights(
    init: str,
    weights_path: str | os.PathLike[str] | None = None,
    *,
    seed: int = 0,
    arch: str = "msinet",
) -> Start:
    """Resolve ``--init`` (see the module doc) for the ``arch`` network to weights;
    raises a one-line error."""
    name = init.strip()
    key = name.lower().replace("-", "_")
    if key == "imagenet":
        key = "vgg16"
    if arch != "msinet":
        return _other_start(name, key, weights_path, seed=seed, arch=arch)
    if weights_path is not None and not os.path.exists(weights_path):
        # checked here: the readers' own line names export's --weights-path
        raise WeightsError(f"--init-path {weights_path} does not exist")
    if key == "random":
        return Start({}, f"random (seed {seed})")
    if key == "vgg16":
        return Start(keras_vgg16_weights(weights_path), "Keras VGG16 ImageNet (conv1_1 BGR→RGB)")
    if key == "vgg16_hybrid":
        return Start(hybrid_checkpoint_weights(weights_path), "vgg16_hybrid TF1 checkpoint")
    if key in QUALITY_PRESETS or key in DATASET_PRESETS:
        from saliency_cam.export.readers import read_weights

        preset = resolve_preset(key)
        try:
            loaded = read_weights(preset.default_source, preset, weights_path)
        except DownloadError as exc:
            raise offline_error(exc) from exc
        return Start(loaded.weights, f"{preset.name} ({loaded.source} {loaded.origin})".strip())
    path = Path(name).expanduser()
    if path.exists():
        return Start(weights_from_path(path), f"weights from {path}")
    raise SaliencyCamError(
        f"unknown --init {init!r}: use random, vgg16, vgg16_hybrid, a preset "
        f"({', '.join(DATASET_PRESETS)}, {', '.join(QUALITY_PRESETS)}), a weights file or a "
        "previous run's folder"
    )


def _other_start(
    name: str, key: str, weights_path: str | os.PathLike[str] | None, *, seed: int, arch: str
) -> Start:
    """``--init`` for an architecture other than MSI-Net: random, the VGG-16 encoders,
    or its own weights from a path."""
    from saliency_cam.models.architectures import get_architecture

    network = get_architecture(arch)
    if weights_path is not None and not os.path.exists(weights_path):
        raise WeightsError(f"--init-path {weights_path} does not exist")
    if key == "random":
        return Start({}, f"random (seed {seed})")
    if key == "vgg16":
        return Start(keras_vgg16_weights(weights_path), "Keras VGG16 ImageNet (conv1_1 BGR→RGB)")
    if key == "vgg16_hybrid":
        return Start(hybrid_checkpoint_weights(weights_path), "vgg16_hybrid TF1 checkpoint")
    path = Path(weights_path or name).expanduser()
    if key in QUALITY_PRESETS or key in DATASET_PRESETS or not path.exists():
        raise SaliencyCamError(
            f"--init {name!r} for {network.title}: use random, imagenet (vgg16), vgg16_hybrid, "
            f"a {network.title} weights file or a previous run's folder"
        )
    best = path / "best.weights.h5"
    if path.is_dir() and best.is_file():  # a previous training run
        path = best
    if path.name.endswith(".weights.h5"):
        from saliency_cam.export.readers.keras_weights import read_keras_weights

        return Start(read_keras_weights(path, arch=network.name).weights, f"weights from {path}")
    if network.name == "mlnet":
        from saliency_cam.export.readers.mlnet_h5 import read_mlnet_h5

        loaded = read_mlnet_h5(path)
        return Start(loaded.weights, loaded.origin)
    raise WeightsError(f"{path}: not a {network.title} weights file saliency-cam reads")


def weights_from_path(path: Path) -> WeightMap:
    """Full MSI-Net weights from a file or folder in any form the export step reads."""
    from saliency_cam.export.readers import read_weights

    salicon = DATASET_PRESETS["salicon"]
    best = path / "best.weights.h5"
    if path.is_dir() and best.is_file():  # a previous training run
        path = best
    if path.name.endswith(".weights.h5"):
        return read_weights("keras", salicon, path).weights
    if path.suffix in (".pb", ".zip"):
        return read_weights("pb", salicon, path).weights
    if path.name == "model.json" or (path / "model.json").is_file():
        return read_weights("tfjs", QUALITY_PRESETS["very_high"], path).weights
    if (path / "saved_model.pb").is_file():
        return read_weights("hf", salicon, path).weights
    raise WeightsError(
        f"{path}: not a weights format saliency-cam reads (.weights.h5, .pb/.zip, TF.js "
        "model.json, SavedModel folder, or a training run folder)"
    )


def reverse_first_channels(kernel: np.ndarray) -> np.ndarray:
    """conv1_1 kernel (3, 3, 3, 64) for BGR input → the same filters for RGB input."""
    return np.ascontiguousarray(kernel[:, :, ::-1, :])


def keras_vgg16_weights(weights_path: str | os.PathLike[str] | None = None) -> WeightMap:
    """The encoder from Keras' ImageNet VGG16 (Keras downloads its file when no
    ``weights_path`` is given)."""
    import keras

    try:
        vgg = keras.applications.VGG16(
            include_top=False,
            weights=str(weights_path) if weights_path else "imagenet",
            input_shape=(32, 32, 3),
        )
    except Exception as exc:  # noqa: BLE001 - Keras raises URL, OS and value errors
        message = (
            f"cannot load Keras' VGG16 ImageNet weights ({type(exc).__name__}: {exc}); "
            "download vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5 by hand and pass it "
            "with --init-path"
        )
        if weights_path is None:  # Keras was downloading it
            raise offline_error(exc, message) from exc
        raise WeightsError(message) from exc
    out: WeightMap = {}
    for scope, layer in zip(VGG_SCOPES, KERAS_VGG_LAYERS, strict=True):
        kernel, bias = vgg.get_layer(layer).get_weights()
        out[f"{scope}/kernel"] = kernel.astype(np.float32)
        out[f"{scope}/bias"] = bias.astype(np.float32)
    out["conv1/conv1_1/kernel"] = reverse_first_channels(out["conv1/conv1_1/kernel"])
    return _checked_encoder(out, "Keras VGG16")


def hybrid_checkpoint_weights(weights_path: str | os.PathLike[str] | None = None) -> WeightMap:
    """The encoder from the original ``vgg16_hybrid`` TF1 checkpoint (its variables are
    already for RGB input: the original fed it RGB)."""
    import tensorflow as tf

    try:
        fetched = Path(weights_path) if weights_path else _fetch_hybrid()
    except DownloadError as exc:
        raise offline_error(exc) from exc
    prefix = _checkpoint_prefix(fetched)
    try:
        reader = tf.train.load_checkpoint(str(prefix))
        out: WeightMap = {}
        for scope in VGG_SCOPES:
            out[f"{scope}/kernel"] = reader.get_tensor(f"{scope}/weights").astype(np.float32)
            out[f"{scope}/bias"] = reader.get_tensor(f"{scope}/biases").astype(np.float32)
    except (tf.errors.OpError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"{prefix} is not the vgg16_hybrid checkpoint ({first})") from exc
    return _checked_encoder(out, str(prefix))


def _checkpoint_prefix(path: Path) -> Path:
    """A checkpoint prefix from a prefix, a folder holding one, or a zip of that."""
    if path.suffix == ".zip" and path.is_file():
        from saliency_cam.export.download import extract_zip_safely

        target = path.with_suffix("")
        if not target.is_dir():
            try:
                extract_zip_safely(path, target)
            except zipfile.BadZipFile as exc:  # pragma: no cover - extract_zip reports it
                raise WeightsError(f"{path} is not a zip") from exc
        path = target
    if path.is_dir():
        indexes = sorted(path.rglob("*.index"))
        if not indexes:
            raise WeightsError(f"{path} holds no TF checkpoint (*.index)")
        return indexes[0].with_suffix("")
    return path


def _fetch_hybrid() -> Path:
    from saliency_cam.export.fetchers.drive import fetch_drive_file

    return fetch_drive_file(
        VGG16_HYBRID_DRIVE_ID, "vgg16_hybrid.zip", "the vgg16_hybrid checkpoint"
    )


def _checked_encoder(weights: WeightMap, origin: str) -> WeightMap:
    for name, array in weights.items():
        if tuple(array.shape) != EXPECTED_SHAPES[name]:
            raise WeightsError(
                f"{origin}: {name} has shape {array.shape}, expected {EXPECTED_SHAPES[name]}"
            )
    return weights
