"""The lite saliency network: a MobileNetV2 encoder and a light multi-scale decoder.

Same contract as MSI-Net: RGB float32 0..255 NHWC in (the exported ONNX takes the
runtime's uint8 BGR frame and swaps/casts inside, exactly as for MSI-Net), the map at
the input size out, min-max normalised per image to [0, 1]; H and W multiples of 8.

* Encoder: the first blocks of MobileNetV2 (width 1.0, Keras' layer names, so
  ``--init imagenet`` copies Keras' ImageNet weights in) down to 1/8 of the input, then
  three inverted residuals of its own at 1/8 with dilation 2 and 4 (more context
  without a coarser map: every stride-2 step sees an even size, so any multiple-of-8
  input runs, and the exported graph takes any size like MSI-Net's).
* Multi-scale head (ASPP-like): a 1×1 branch, three depthwise-separable 3×3 branches
  with dilation 2, 4 and 6, and a global-context branch; fused by a 1×1 convolution.
* Decoder: three ×2 bilinear steps (TF1's legacy mapping, as MSI-Net) with
  depthwise-separable convolutions, the encoder's 1/4 and 1/2 features joined in at the
  first two; the map is made at 1/2 and upsampled once more.

About 100× fewer multiply-accumulates than MSI-Net (0.46 GMACs at 240×320 against
45.5); :func:`gmacs` counts them from :data:`LAYERS` without TensorFlow, and the
tests check that count against the Keras model's real convolutions. The table lives
in :mod:`saliency_cam.models.lite_arch` (TF-free: the registry reads it).

>>> round(gmacs(240, 320), 2)
0.46
>>> model = build_lite(240, 320)   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from saliency_cam.models.lite_arch import (  # the TF-free table, re-exported
    ARCH,
    DECODER_CHANNELS,
    FINE_SKIP_CHANNELS,
    FUSED_CHANNELS,
    HEAD_CHANNELS,
    HEAD_DILATIONS,
    INITS,
    LAYERS,
    MOBILENET_BLOCKS,
    OWN_BLOCKS,
    SIZE_MULTIPLE,
    SKIP_CHANNELS,
    LiteConv,
    check_size,
    gmacs,
    macs,
)

__all__ = [
    "ARCH",
    "SIZE_MULTIPLE",
    "INITS",
    "HEAD_CHANNELS",
    "FUSED_CHANNELS",
    "DECODER_CHANNELS",
    "LiteConv",
    "MOBILENET_BLOCKS",
    "OWN_BLOCKS",
    "HEAD_DILATIONS",
    "SKIP_CHANNELS",
    "FINE_SKIP_CHANNELS",
    "LAYERS",
    "macs",
    "gmacs",
    "check_size",
    "build_lite",
    "copy_imagenet_weights",
    "keras_conv_macs",
    "extract_weights",
    "load_weights",
]


def build_lite(
    height: int | None = None, width: int | None = None, *, init: str = "random", seed: int = 0
):  # -> keras.Model
    """Build the lite network for ``height``×``width`` (multiples of 8; None = any).

    ``init``: ``random`` (seeded Keras initialisers) or ``imagenet`` (the MobileNetV2
    layers take Keras' ImageNet weights, downloaded by Keras into ``~/.keras``; raises
    :class:`~saliency_cam.models.errors.WeightsError` in one line when that fails).
    Input: RGB float32 0..255 NHWC; output [N, H, W, 1] in [0, 1].
    """
    import keras

    from saliency_cam.models.msinet import MinMaxNormalize

    check_size(height, width)
    if init not in INITS:
        raise ValueError(f"unknown lite init {init!r}: use {' or '.join(INITS)}")
    keras.utils.set_random_seed(seed)
    inputs = keras.Input(shape=(height, width, 3), dtype="float32", name="input")
    x, skips = _encoder(inputs)
    x = _decoder(_head(x), skips)
    outputs = MinMaxNormalize(name="output", dtype="float32")(x)
    model = keras.Model(inputs, outputs, name="lite")
    if init == "imagenet":
        copy_imagenet_weights(model)
    return model


# The layers below are named as Keras' MobileNetV2 names its own (``block_N_expand``,
# ``…_BN``, ``…_relu``): ``--init imagenet`` copies weights by layer name, and the
# exported weight maps (:func:`extract_weights`) are keyed by them.


def _bn_act(x: Any, name: str, act: str | None = "relu6") -> Any:
    """BatchNorm (MobileNetV2's epsilon and momentum), then ReLU6, ReLU or nothing."""
    from keras import layers

    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name=f"{name}_BN")(x)
    if act == "relu6":
        return layers.ReLU(6.0, name=f"{name}_relu")(x)
    if act == "relu":
        return layers.ReLU(name=f"{name}_relu")(x)
    return x


def _inverted(x: Any, name: str, cout: int, expand: int, stride: int = 1, dilation: int = 1) -> Any:
    """MobileNetV2's inverted residual: 1×1 expand, 3×3 depthwise (strided or
    dilated), linear 1×1 projection; the input added back when the shape allows."""
    from keras import layers

    cin = x.shape[-1]
    y = x
    if expand != 1:
        y = layers.Conv2D(cin * expand, 1, use_bias=False, name=f"{name}_expand")(y)
        y = _bn_act(y, f"{name}_expand")
    if stride == 2:  # even sizes (multiples of 8): MobileNetV2's pad is bottom/right
        y = layers.ZeroPadding2D(((0, 1), (0, 1)), name=f"{name}_pad")(y)
    y = layers.DepthwiseConv2D(
        3, strides=stride, padding="valid" if stride == 2 else "same",
        dilation_rate=dilation, use_bias=False, name=f"{name}_depthwise",
    )(y)  # fmt: skip
    y = _bn_act(y, f"{name}_depthwise")
    y = layers.Conv2D(cout, 1, use_bias=False, name=f"{name}_project")(y)
    y = _bn_act(y, f"{name}_project", None)
    if stride == 1 and cin == cout:
        y = layers.Add(name=f"{name}_add")([x, y])
    return y


def _separable(x: Any, name: str, cout: int, dilation: int = 1) -> Any:
    """A depthwise-separable 3×3 convolution (optionally dilated), each half BN + ReLU."""
    from keras import layers

    y = layers.DepthwiseConv2D(
        3, padding="same", dilation_rate=dilation, use_bias=False, name=f"{name}_depthwise"
    )(x)
    y = _bn_act(y, f"{name}_depthwise", "relu")
    y = layers.Conv2D(cout, 1, use_bias=False, name=f"{name}_pointwise")(y)
    return _bn_act(y, f"{name}_pointwise", "relu")


def _encoder(inputs: Any) -> tuple[Any, dict[str, Any]]:
    """MobileNetV2's first blocks down to 1/8, then the dilated blocks of our own; the
    features at 1/1/8 and the output of each MobileNetV2 block (the decoder's skips)."""
    from keras import layers

    # MobileNetV2's own input scaling (its ImageNet weights expect -1..1)
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="rescale")(inputs)
    x = layers.Conv2D(32, 3, strides=2, padding="same", use_bias=False, name="Conv1")(x)
    x = layers.BatchNormalization(epsilon=1e-3, momentum=0.9, name="bn_Conv1")(x)
    x = layers.ReLU(6.0, name="Conv1_relu")(x)
    skips = {}
    for name, _cin, cout, expand, _scale, stride in MOBILENET_BLOCKS:
        x = _inverted(x, name, cout, expand, stride)
        skips[name] = x
    for name, _cin, cout, dilation in OWN_BLOCKS:
        x = _inverted(x, name, cout, 6, dilation=dilation)
    return x, skips


def _head(x: Any) -> Any:
    """The multi-scale head: 1×1, dilated separable 3×3 and global-context branches,
    concatenated and fused by a 1×1 convolution."""
    from keras import layers

    from saliency_cam.models.msinet import GlobalMean, LegacyResizeBilinear

    c = HEAD_CHANNELS
    one = layers.Conv2D(c, 1, use_bias=False, name="head_1x1")(x)
    branches = [_bn_act(one, "head_1x1", "relu")]
    branches += [_separable(x, f"head_d{d}", c, d) for d in HEAD_DILATIONS]
    pooled = GlobalMean(name="head_global_mean")(x)
    pooled = layers.Conv2D(c, 1, activation="relu", name="head_global")(pooled)
    branches.append(LegacyResizeBilinear(name="head_global_resize")([pooled, x]))
    x = layers.Concatenate(name="head_concat")(branches)
    fused = layers.Conv2D(FUSED_CHANNELS, 1, use_bias=False, name="head_fuse")(x)
    return _bn_act(fused, "head_fuse", "relu")


def _decoder(x: Any, skips: dict[str, Any]) -> Any:
    """Three ×2 bilinear steps back to the input size, the encoder's 1/4 and 1/2
    features joined in at the first two; the one-channel map (before normalising)."""
    from keras import layers

    from saliency_cam.models.msinet import LegacyResizeBilinear

    x = LegacyResizeBilinear(2, name="decoder_upsample1")(x)
    x = layers.Concatenate(name="decoder_skip")([x, skips["block_2"]])
    for step, cout in enumerate(DECODER_CHANNELS, 1):
        x = _separable(x, f"decoder_{step}", cout)
        if step == 1:
            x = LegacyResizeBilinear(2, name="decoder_upsample2")(x)
            x = layers.Concatenate(name="decoder_fine_skip")([x, skips["expanded_conv"]])
    x = layers.Conv2D(1, 3, padding="same", name="decoder_out")(x)
    return LegacyResizeBilinear(2, name="decoder_upsample3")(x)


def copy_imagenet_weights(model: Any) -> int:
    """Copy Keras' ImageNet MobileNetV2 (width 1.0) weights into the layers of ``model``
    that share its names (the encoder's first blocks); returns how many layers."""
    import keras

    from saliency_cam.models.errors import WeightsError

    try:
        reference = keras.applications.MobileNetV2(
            input_shape=(224, 224, 3), alpha=1.0, include_top=False, weights="imagenet"
        )
    except Exception as exc:  # noqa: BLE001 - Keras raises URL, OS and value errors
        raise WeightsError(
            f"cannot load Keras' MobileNetV2 ImageNet weights ({type(exc).__name__}); "
            "connect to the internet once (Keras keeps them in ~/.keras) or use --init random"
        ) from exc
    names = {layer.name for layer in reference.layers}
    copied = 0
    for layer in model.layers:
        if layer.name in names and layer.weights:
            layer.set_weights(reference.get_layer(layer.name).get_weights())
            copied += 1
    return copied


def keras_conv_macs(model: Any, height: int, width: int) -> int:
    """Multiply-accumulates of a Keras model's Conv2D/DepthwiseConv2D layers on one
    ``height``×``width`` frame, from the output shapes a real forward pass gives (the
    bilinear steps leave static shapes unknown). What the tests compare :func:`macs` with."""
    import keras

    kinds = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D)
    convs = [layer for layer in model.layers if isinstance(layer, kinds)]
    probe = keras.Model(model.inputs, [layer.output for layer in convs])
    outputs = probe([np.zeros((1, height, width, 3), np.float32)])
    total = 0
    for layer, out in zip(convs, outputs, strict=True):
        _, h, w, cout = out.shape
        kh, kw = layer.kernel_size
        if isinstance(layer, keras.layers.DepthwiseConv2D):
            total += h * w * kh * kw * cout
        else:
            total += h * w * kh * kw * layer.kernel.shape[2] * cout
    return int(total)


def extract_weights(model: Any) -> dict[str, np.ndarray]:
    """All variables (BatchNorm statistics included) as ``{"<layer>/<index>": array}``."""
    out: dict[str, np.ndarray] = {}
    for layer in model.layers:
        for index, value in enumerate(layer.get_weights()):
            out[f"{layer.name}/{index}"] = np.asarray(value, np.float32)
    return out


def load_weights(model: Any, weights: dict[str, np.ndarray]) -> None:
    """Inverse of :func:`extract_weights`; raises WeightsError when they do not fit."""
    from saliency_cam.models.errors import WeightsError

    expected = {f"{layer.name}/{i}" for layer in model.layers for i in range(len(layer.weights))}
    if set(weights) != expected:
        missing = sorted(expected - set(weights))[:3]
        extra = sorted(set(weights) - expected)[:3]
        raise WeightsError(
            f"weights do not fit the lite network (missing {missing}, extra {extra})"
        )
    for layer in model.layers:
        if layer.weights:
            layer.set_weights([weights[f"{layer.name}/{i}"] for i in range(len(layer.weights))])


@functools.lru_cache(maxsize=1)
def _shapes() -> tuple[tuple[str, tuple[int, ...]], ...]:
    model = build_lite()
    return tuple((name, tuple(value.shape)) for name, value in extract_weights(model).items())


def expected_shapes() -> dict[str, tuple[int, ...]]:
    """Every variable's name and shape (the registry's ``expected_shapes``, built once:
    the lite network's weights are named by its Keras layers)."""
    return dict(_shapes())
