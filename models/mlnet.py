"""ML-Net as a Keras 3 functional model (needs TensorFlow: the export extra).

The layer table and its facts are in :mod:`saliency_cam.models.mlnet_layers`. The same
input and output contract as MSI-Net (RGB float 0..255 NHWC in, the same mean
subtraction; the map upsampled ×8 to the input size with TF1's legacy bilinear resize
and min-max normalised per image), so export, ONNX and the runtime treat it alike.

>>> model = build_mlnet(48, 64)               # doctest: +SKIP
>>> load_weights(model, weights)              # {"conv1/conv1_1/kernel": ..., "prior/prior": ...}
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from saliency_cam.models.errors import WeightsError
from saliency_cam.models.mlnet_layers import (
    DROPOUT,
    EXPECTED_SHAPES,
    LAYERS,
    PRIOR_SCOPE,
    PRIOR_SHAPE,
    PRIOR_WEIGHT,
)
from saliency_cam.models.msinet import (
    LegacyResizeBilinear,
    MinMaxNormalize,
    SubtractMean,
    keras,
    layer_name,
    tf,
)

#: Keras name of the prior layer.
PRIOR_LAYER = layer_name(PRIOR_SCOPE.split("/")[0])


class FeatureDropout(keras.layers.Layer):
    """Dropout with no state of its own (``tf.nn.dropout``; Keras' Dropout keeps a seed
    variable, which the export refuses as a non-trainable variable). Identity at
    inference, so the exported graph has no trace of it."""

    def __init__(self, rate: float = DROPOUT, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.rate = rate

    def call(self, inputs: tf.Tensor, training: bool | None = None) -> tf.Tensor:
        if training and self.rate > 0:
            return tf.nn.dropout(inputs, rate=self.rate)
        return inputs

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "rate": self.rate}


class PriorRegularizer(keras.regularizers.Regularizer):
    """λ‖1 − prior‖² (the prior starts at ones; this keeps it near them)."""

    def __init__(self, weight: float) -> None:
        self.weight = weight

    def __call__(self, prior: tf.Tensor) -> tf.Tensor:
        return self.weight * tf.reduce_sum(tf.square(1.0 - prior))

    def get_config(self) -> dict[str, object]:
        return {"weight": self.weight}


class LearnedPrior(keras.layers.Layer):
    """Multiplies its input by a small learned map (initialised to ones), upsampled to
    the input's height and width with the legacy bilinear resize."""

    def __init__(
        self,
        shape: tuple[int, int] = PRIOR_SHAPE,
        prior_weight: float = PRIOR_WEIGHT,
        **kwargs: object,
    ) -> None:
        super().__init__(**kwargs)
        self.shape = tuple(shape)
        self.prior_weight = prior_weight

    def build(self, input_shape: object) -> None:
        self.prior = self.add_weight(
            name="prior",
            shape=self.shape,
            initializer="ones",
            regularizer=PriorRegularizer(self.prior_weight) if self.prior_weight else None,
        )

    def call(self, inputs: tf.Tensor) -> tf.Tensor:
        prior = tf.reshape(tf.cast(self.prior, inputs.dtype), [1, *self.shape, 1])
        size = tf.shape(inputs)[1:3]
        upsampled = tf.compat.v1.image.resize_bilinear(
            prior, size, align_corners=False, half_pixel_centers=False
        )
        return inputs * upsampled

    def get_config(self) -> dict[str, object]:
        return {**super().get_config(), "shape": self.shape, "prior_weight": self.prior_weight}


class PositiveGlorotNormal(keras.initializers.GlorotNormal):
    """|Glorot normal|: the head's last convolution has one output unit behind a ReLU;
    started with random signs it was negative on every pixel for some seeds (a map of
    zeros, no gradient ever). Its inputs are ReLU outputs (≥ 0), so non-negative
    weights start it alive everywhere; training may make them negative."""

    def __call__(self, shape, dtype=None):
        return tf.abs(super().__call__(shape, dtype))


def _conv(scope: str) -> keras.layers.Conv2D:
    spec = next(layer for layer in LAYERS if layer.scope == scope)
    init = PositiveGlorotNormal() if scope == "head/conv2" else "glorot_uniform"
    return keras.layers.Conv2D(
        spec.cout,
        spec.kernel,
        padding="same",
        activation="relu",
        kernel_initializer=init,
        name=layer_name(scope),
    )


def build_mlnet(
    height: int | None = None,
    width: int | None = None,
    *,
    prior_weight: float = PRIOR_WEIGHT,
    dropout: float = DROPOUT,
) -> keras.Model:
    """ML-Net for ``height``×``width`` (multiples of 8) or any size (None). Input RGB
    float32 0..255 NHWC; output [N, H, W, 1] in [0, 1]. ``prior_weight`` is λ of the
    prior's regulariser (0: none); ``dropout`` the head's rate while training."""
    for value in (height, width):
        if value is not None and value % 8:
            raise ValueError(f"ML-Net input sizes must be multiples of 8, got {height}×{width}")
    inputs = keras.Input(shape=(height, width, 3), dtype="float32", name="input")
    x = SubtractMean(name="subtract_mean")(inputs)
    taps = []
    for block, count in ((1, 2), (2, 2), (3, 3), (4, 3), (5, 3)):
        for i in range(1, count + 1):
            x = _conv(f"conv{block}/conv{block}_{i}")(x)
        if block <= 3:
            x = keras.layers.MaxPooling2D(2, strides=2, padding="same", name=f"pool{block}")(x)
        elif block == 4:  # stride 1: conv5 stays at 1/8
            x = keras.layers.MaxPooling2D(2, strides=1, padding="same", name="pool4")(x)
        if block >= 3:
            taps.append(x)  # pool3, pool4, conv5_3
    x = keras.layers.Concatenate(name="encoder_concat")(taps)
    x = FeatureDropout(dropout, name="head_dropout")(x)
    x = _conv("head/conv1")(x)
    x = _conv("head/conv2")(x)
    x = LearnedPrior(PRIOR_SHAPE, prior_weight, name=PRIOR_LAYER)(x)
    x = LegacyResizeBilinear(8, name="upsample")(x)
    outputs = MinMaxNormalize(name="output", dtype="float32")(x)
    return keras.Model(inputs, outputs, name="mlnet")


def load_weights(model: keras.Model, weights: Mapping[str, np.ndarray]) -> None:
    """Set the convolutions and the prior from a scope mapping (kernels HWIO)."""
    for name, expected in EXPECTED_SHAPES.items():
        if name not in weights:
            continue  # a partial start (the VGG-16 encoder) leaves the rest as built
        if tuple(np.shape(weights[name])) != expected:
            raise WeightsError(f"{name} has shape {np.shape(weights[name])}, expected {expected}")
    for spec in LAYERS:
        key = f"{spec.scope}/kernel"
        if key in weights:
            model.get_layer(layer_name(spec.scope)).set_weights(
                [
                    np.asarray(weights[key], np.float32),
                    np.asarray(weights[f"{spec.scope}/bias"], np.float32),
                ]
            )
    if PRIOR_SCOPE in weights:
        model.get_layer(PRIOR_LAYER).set_weights([np.asarray(weights[PRIOR_SCOPE], np.float32)])


def extract_weights(model: keras.Model) -> dict[str, np.ndarray]:
    """The model's weights as a scope mapping (inverse of :func:`load_weights`)."""
    out: dict[str, np.ndarray] = {}
    for spec in LAYERS:
        kernel, bias = model.get_layer(layer_name(spec.scope)).get_weights()
        out[f"{spec.scope}/kernel"] = kernel
        out[f"{spec.scope}/bias"] = bias
    (out[PRIOR_SCOPE],) = model.get_layer(PRIOR_LAYER).get_weights()
    return out


build = build_mlnet
