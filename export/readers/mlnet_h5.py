"""The ML-Net authors' published weights: a Keras 1 HDF5 file from the Theano backend.

Layout (Keras 1 ``save_weights``; ``model.save`` puts the same under ``model_weights``)::

    /                      attrs: layer_names [b"input_1", b"convolution2d_1", …],
                                  backend b"theano", keras_version
    /convolution2d_1       attrs: weight_names [b"convolution2d_1_W", b"convolution2d_1_b"]
        convolution2d_1_W  (out, in, kh, kw)   Theano order, kernel flipped (convolution)
        convolution2d_1_b  (out,)
    …
    /eltwiseproduct_1      attrs: weight_names [b"eltwiseproduct_1_W"]
        eltwiseproduct_1_W (6, 8)             the prior's offset: prior = 1 + W

Layers are taken in ``layer_names`` order, those without weights skipped: the 13 VGG-16
convolutions, the head's 3×3 and 1×1 convolutions, then the prior. Theano kernels are
flipped in space and reordered to HWIO (what Keras' ``convert_kernel`` does); a file
saved from the TensorFlow backend (``backend`` attribute) is already HWIO. The authors
fed BGR images (OpenCV), so conv1_1's input channels are reversed for this project's
RGB input. (Their mean subtraction was 103.939/116.779/123.68 on B, G, R; the exported
graph subtracts those values from R, G, B as MSI-Net does, a difference of at most
20 grey levels per channel before the first convolution.)

>>> loaded = read_mlnet_h5("mlnet_salicon_weights.pkl")   # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from saliency_cam.export.weights import LoadedWeights, WeightMap, check_weights
from saliency_cam.models.errors import WeightsError
from saliency_cam.models.manifest import sha256_file
from saliency_cam.models.mlnet_layers import LAYERS, PRIOR_SCOPE


def _text(value: object) -> str:
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _layers_with_weights(path: Path) -> tuple[list[tuple[str, list[np.ndarray]]], str]:
    """``[(layer name, [arrays in weight_names order])]`` and the backend it was saved
    from, read from a Keras 1 weights file."""
    import h5py

    try:
        with h5py.File(path, "r") as h5:
            group = h5.get("model_weights", h5)
            if "layer_names" not in group.attrs:
                raise WeightsError(
                    f"{path} is HDF5 but not a Keras 1 weights file (no layer_names attribute)"
                )
            backend = _text(group.attrs.get("backend", h5.attrs.get("backend", b"theano")))
            layers = []
            for name in map(_text, group.attrs["layer_names"]):
                if name not in group:  # a layer without weights may have no group
                    continue
                names = [_text(w) for w in group[name].attrs.get("weight_names", [])]
                if names:
                    layers.append((name, [np.asarray(group[name][w]) for w in names]))
    except OSError as exc:
        raise WeightsError(f"{path} is not a readable HDF5 file ({exc})") from exc
    return layers, backend


def read_mlnet_h5(path: str | os.PathLike[str], *, dataset: str = "salicon") -> LoadedWeights:
    """Read the authors' ML-Net weights (any file name: they published a ``.pkl`` that
    is HDF5 inside). Raises one :class:`WeightsError` when the file does not hold
    ML-Net: wrong layer count or shapes."""
    source = Path(path)
    if not source.is_file():
        raise WeightsError(f"{source} does not exist: pass the ML-Net weights file")
    layers, backend = _layers_with_weights(source)
    expected = len(LAYERS) + 1
    if len(layers) != expected:
        raise WeightsError(
            f"{source} holds {len(layers)} layers with weights, ML-Net has {expected} "
            "(13 VGG-16 convolutions, 2 head convolutions, the prior)"
        )
    weights: WeightMap = {}
    theano = backend.lower() != "tensorflow"
    for spec, (name, arrays) in zip(LAYERS, layers[:-1], strict=True):
        if len(arrays) != 2 or np.ndim(arrays[0]) != 4:
            raise WeightsError(f"{source}: layer {name} is not a convolution (kernel, bias)")
        kernel = arrays[0]
        if theano:  # (out, in, kh, kw), flipped → (kh, kw, in, out) for correlation
            kernel = kernel[:, :, ::-1, ::-1].transpose(2, 3, 1, 0)
        weights[f"{spec.scope}/kernel"] = np.ascontiguousarray(kernel, np.float32)
        weights[f"{spec.scope}/bias"] = np.asarray(arrays[1], np.float32)
    prior_name, prior = layers[-1]
    if len(prior) != 1:
        raise WeightsError(f"{source}: layer {prior_name} is not ML-Net's prior")
    weights[PRIOR_SCOPE] = 1.0 + np.asarray(prior[0], np.float32)  # the file holds prior − 1
    first = "conv1/conv1_1/kernel"
    if first in weights and weights[first].shape[2] == 3:  # BGR-trained → RGB input
        weights[first] = np.ascontiguousarray(weights[first][:, :, ::-1, :])
    return LoadedWeights(
        check_weights(weights, str(source), "mlnet"),
        source="mlnet-h5",
        revision=f"sha256:{sha256_file(source)[:16]}",
        dataset=dataset,
        trained=True,
        origin=f"ML-Net authors' weights {source.name} ({backend})",
        arch="mlnet",
    )
