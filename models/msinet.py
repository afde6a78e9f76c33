"""MSI-Net as a Keras 3 functional model (needs TensorFlow: the export extra).

Exactly the published network (docs/design.md §2): VGG16 encoder with dilated conv5 and
stride-1 pools, ASPP with a global-context branch, a three-step bilinear decoder and
per-image min-max normalisation. Every bilinear resize reproduces TF1's legacy
``ResizeBilinear`` (``align_corners=False, half_pixel_centers=False``), as the
published graphs do; Keras' own upsampling uses half-pixel centres and would give
different maps from the same weights.

>>> model = build_msinet(48, 64)              # doctest: +SKIP
>>> load_weights(model, weights)              # {"conv1/conv1_1/kernel": array, ...}
>>> saliency = model(rgb_float_0_255)         # [N, 48, 64, 1] in [0, 1]
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping

import numpy as np

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # quiet TF's C++ INFO lines; errors show
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from saliency_cam.models.architecture import (
    EXPECTED_SHAPES,
    LAYERS,
    RGB_MEAN,
    SIZE_MULTIPLE,
    ConvSpec,
)
from saliency_cam.models.errors import WeightsError

# compat.v1 resize_bilinear is deliberate (legacy mapping); its deprecation note is noise.
tf.get_logger().setLevel("ERROR")
# TensorFlow's logger prints through its own handler, and also through the root logger's
# once one exists (absl adds one with basicConfig on its first log call, e.g. when a
# checkpoint is saved): every line twice. Its own handler is enough.
tf.get_logger().propagate = False


def layer_name(scope: str) -> str:
    """Keras layer name for a published scope (Keras 3 forbids ``/`` in names)."""
    return scope.replace("/", "__")


def scope_name(layer: str) -> str:
    """Inverse of :func:`layer_name`."""
    return layer.replace("__", "/")


class SubtractMean(keras.layers.Layer):
    """Subtracts the RGB mean. A layer, not a loose constant: tf2onnx turned a bare
    ``inputs - tf.constant(...)`` into a second graph input (docs/design.md §5)."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return inputs - tf.constant(RGB_MEAN, dtype=inputs.dtype)


class LegacyResizeBilinear(keras.layers.Layer):
    """TF1 ``ResizeBilinear`` with the asymmetric coordinate mapping.

    Called with one tensor it scales H and W by ``factor``; called with
    ``[tensor, reference]`` it resizes to the reference's H and W.
    """

    def __init__(self, factor: int = 2, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, inputs: tf.Tensor | list[tf.Tensor]) -> tf.Tensor:
        if isinstance(inputs, (list, tuple)):
            x, reference = inputs
            size = tf.shape(reference)[1:3]
        else:
            x = inputs
            size = tf.shape(x)[1:3] * self.factor
        return tf.compat.v1.image.resize_bilinear(
            x, size, align_corners=False, half_pixel_centers=False
        )

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "factor": self.factor}


class GlobalMean(keras.layers.Layer):
    """Mean over H and W, keeping them as 1×1 (the ASPP global-context branch)."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        return tf.reduce_mean(inputs, axis=(1, 2), keepdims=True)


class MinMaxNormalize(keras.layers.Layer):
    """Per-image ``(x - min) / (1e-7 + max(x - min))``, as the published output op."""

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        shifted = inputs - tf.reduce_min(inputs, axis=(1, 2, 3), keepdims=True)
        return shifted / (1e-7 + tf.reduce_max(shifted, axis=(1, 2, 3), keepdims=True))


def dilated_as_taps(layer: keras.layers.Conv2D) -> keras.layers.Conv2D:
    """Make a dilated "same" Conv2D compute as one matmul over its kernel taps (im2col).

    The same function as before (same weights, same zero padding), written so that its
    *gradient* is cheap on CPU: TensorFlow lowers a dilated convolution to
    SpaceToBatchND + Conv2D on ``rate²`` tiny tiles, and the backprop-input kernel of
    that took 20 s per step for ASPP's rate-12 branch at 48×64, batch 8
    (benchmarks/results/train_speed_cpu.json). Here each tap is a slice of the
    zero-padded input; taps lying wholly in the padding (rate ≥ the feature map's size)
    add exact zeros and are left out. The layer stays a ``Conv2D`` (only this
    instance's ``convolution_op`` changes) because Keras names a ``.weights.h5`` file's
    entries after the layer classes: the saved file is the plain model's. Only for
    training; export and inference keep plain Conv2D, whose ONNX graph is the published.
    """
    kh, kw = layer.kernel_size
    if layer.padding != "same" or tuple(layer.strides) != (1, 1) or not (kh % 2 and kw % 2):
        raise ValueError(f"{layer.name}: taps need an odd 'same' kernel at stride 1")
    layer.convolution_op = functools.partial(_taps_convolution, layer)
    layer.computes_by_taps = True
    return layer


def _taps_convolution(layer: keras.layers.Conv2D, inputs: tf.Tensor, kernel: tf.Tensor):
    kh, kw = layer.kernel_size
    rate_h, rate_w = layer.dilation_rate
    height, width = inputs.shape[1], inputs.shape[2]
    # (row offset, column offset, kernel entry) of every tap that can reach the map: a
    # tap reading only padding adds exact zeros (and its kernel entries get a zero
    # gradient either way), so it is left out when the static size says so
    taps = [
        ((i - kh // 2) * rate_h, (j - kw // 2) * rate_w, i * kw + j)
        for i in range(kh)
        for j in range(kw)
        if (height is None or abs((i - kh // 2) * rate_h) < height)
        and (width is None or abs((j - kw // 2) * rate_w) < width)
    ]
    # pad only as far as the kept taps reach (not at all when only the centre is left)
    pad_h = max(abs(dy) for dy, _, _ in taps)
    pad_w = max(abs(dx) for _, dx, _ in taps)
    padded = tf.pad(inputs, [[0, 0], [pad_h, pad_h], [pad_w, pad_w], [0, 0]])
    size = tf.shape(inputs)
    window = tf.stack([-1, size[1], size[2], -1])
    # tf.slice, not [a:b] indexing: Slice's gradient is one Pad, StridedSliceGrad was the
    # slowest op of the step once the convolutions were fixed
    columns = [
        tf.slice(padded, tf.stack([0, pad_h + dy, pad_w + dx, 0]), window)
        if (pad_h or pad_w)
        else inputs
        for dy, dx, _ in taps
    ]
    stacked = columns[0] if len(columns) == 1 else tf.concat(columns, axis=-1)
    # the kept taps' kernel rows in the same order, by one reshape (+ gather): indexing
    # kernel[i, j] per tap made a kernel-sized StridedSliceGrad per tap in the backward
    cin, cout = kernel.shape[2], kernel.shape[3]
    rows = tf.reshape(kernel, [kh * kw, cin, cout])
    if len(taps) < kh * kw:
        rows = tf.gather(rows, [index for _, _, index in taps])
    weights = tf.reshape(rows, [len(taps) * cin, cout])
    return tf.einsum("nhwc,cd->nhwd", stacked, weights)


def _conv(spec: ConvSpec, padding: str = "same", taps: bool = False) -> keras.layers.Conv2D:
    layer = keras.layers.Conv2D(
        spec.cout,
        spec.kernel,
        padding=padding,
        dilation_rate=spec.dilation,
        activation="relu" if spec.relu else None,
        name=layer_name(spec.scope),
    )
    return dilated_as_taps(layer) if taps and spec.dilation > 1 else layer


def build_msinet(
    height: int | None = None, width: int | None = None, *, dilated_taps: bool = False
) -> keras.Model:
    """Build MSI-Net for a fixed ``height``×``width`` (multiples of 8) or, with None,
    for any size. Input: RGB float32 0..255, NHWC. Output: [N, H, W, 1] in [0, 1].
    Weights start random: use :func:`load_weights`.

    ``dilated_taps`` computes the dilated convolutions (conv5, ASPP) with
    :func:`dilated_as_taps`: the same function and weights, a far faster gradient on
    CPU. The trainer uses it; export keeps the default (plain Conv2D, the ONNX graph).
    """
    for value in (height, width):
        if value is not None and value % SIZE_MULTIPLE:
            raise ValueError(f"MSI-Net input sizes must be multiples of 8, got {height}×{width}")
    specs = {spec.scope: spec for spec in LAYERS}
    inputs = keras.Input(shape=(height, width, 3), dtype="float32", name="input")
    x = SubtractMean(name="subtract_mean")(inputs)

    # Encoder: VGG16 blocks; pools 1-3 halve, pools 4-5 are stride 1 ("same" pads one
    # row/column of -inf at the bottom/right, as TF does).
    pools = []
    for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)):
        for i in range(1, count + 1):
            x = _conv(specs[f"conv{block}/conv{block}_{i}"], taps=dilated_taps)(x)
        stride = 2 if block <= 3 else 1
        x = keras.layers.MaxPooling2D(2, strides=stride, padding="same", name=f"pool{block}")(x)
        if block >= 3:
            pools.append(x)
    features = keras.layers.Concatenate(name="encoder_concat")(pools)

    # ASPP: four parallel branches plus global context, fused by a 1×1 conv.
    branches = [_conv(specs[f"aspp/conv1_{i}"], taps=dilated_taps)(features) for i in range(1, 5)]
    pooled = GlobalMean(name="aspp_global_mean")(features)
    pooled = _conv(specs["aspp/conv1_5"], padding="valid")(pooled)
    branches.append(LegacyResizeBilinear(name="aspp_global_resize")([pooled, features]))
    x = keras.layers.Concatenate(name="aspp_concat")(branches)
    x = _conv(specs["aspp/conv2"])(x)

    # Decoder: three ×2 bilinear upsamplings, each followed by a 3×3 conv.
    for i in range(1, 4):
        x = LegacyResizeBilinear(2, name=f"decoder_upsample{i}")(x)
        x = _conv(specs[f"decoder/conv{i}"])(x)
    x = _conv(specs["decoder/conv4"])(x)
    # float32 whatever the dtype policy: under mixed precision the map and the loss stay
    # float32 (ε = 1e-7 of the normalisation is below float16's resolution near 1)
    outputs = MinMaxNormalize(name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="msinet")


def load_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Set ``model``'s convolutions from a ``{"<scope>/kernel"|"<scope>/bias": array}``
    mapping (kernels HWIO). The mapping must fit exactly (see
    ``saliency_cam.export.weights.check_weights``)."""
    for spec in LAYERS:
        kernel = weights[f"{spec.scope}/kernel"]
        bias = weights[f"{spec.scope}/bias"]
        layer = model.get_layer(layer_name(spec.scope))
        expected = EXPECTED_SHAPES[f"{spec.scope}/kernel"]
        if tuple(kernel.shape) != expected:
            raise WeightsError(f"{spec.scope}/kernel has shape {kernel.shape}, expected {expected}")
        layer.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32)])


def extract_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's convolution weights as a scope mapping (inverse of load_weights)."""
    out: dict[str, np.ndarray] = {}
    for spec in LAYERS:
        kernel, bias = model.get_layer(layer_name(spec.scope)).get_weights()
        out[f"{spec.scope}/kernel"] = kernel
        out[f"{spec.scope}/bias"] = bias
    return out


#: The registry's name for the builder (``saliency_cam.models.architectures``).
build = build_msinet
