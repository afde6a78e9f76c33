"""MSI-Net's layer table, without TensorFlow: scopes, shapes and per-frame cost.

Every published MSI-Net artifact names its weights by these variable scopes (kernel
HWIO plus bias). Readers check their output against :data:`EXPECTED_SHAPES`; the
benchmark reads :func:`gflops`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ConvSpec:
    """One convolution of MSI-Net as published: scope, kernel size, channels, dilation.

    ``scale`` is the output stride relative to the input (8 for the encoder tail and
    ASPP, then 4, 2, 1 in the decoder); ``global_pool`` marks the ASPP branch that
    runs on a 1×1 pooled map.
    """

    scope: str
    kernel: int
    cin: int
    cout: int
    dilation: int = 1
    scale: int = 1
    relu: bool = True
    global_pool: bool = False


def _vgg() -> list[ConvSpec]:
    specs = []
    blocks = [
        (1, 2, 3, 64, 1),
        (2, 2, 64, 128, 2),
        (3, 3, 128, 256, 4),
        (4, 3, 256, 512, 8),
        (5, 3, 512, 512, 8),
    ]
    for block, count, cin, cout, scale in blocks:
        for i in range(1, count + 1):
            specs.append(
                ConvSpec(
                    scope=f"conv{block}/conv{block}_{i}",
                    kernel=3,
                    cin=cin if i == 1 else cout,
                    cout=cout,
                    dilation=2 if block == 5 else 1,
                    scale=scale,
                )
            )
    return specs


#: Every convolution in graph order. The ASPP branches conv1_1..conv1_4 use dilation
#: 1, 4, 8, 12; conv1_5 is the global-context branch.
LAYERS: tuple[ConvSpec, ...] = (
    *_vgg(),
    ConvSpec("aspp/conv1_1", 1, 1280, 256, 1, 8),
    ConvSpec("aspp/conv1_2", 3, 1280, 256, 4, 8),
    ConvSpec("aspp/conv1_3", 3, 1280, 256, 8, 8),
    ConvSpec("aspp/conv1_4", 3, 1280, 256, 12, 8),
    ConvSpec("aspp/conv1_5", 1, 1280, 256, 1, 8, global_pool=True),
    ConvSpec("aspp/conv2", 1, 1280, 256, 1, 8),
    ConvSpec("decoder/conv1", 3, 256, 128, 1, 4),
    ConvSpec("decoder/conv2", 3, 128, 64, 1, 2),
    ConvSpec("decoder/conv3", 3, 64, 32, 1, 1),
    ConvSpec("decoder/conv4", 3, 32, 1, 1, 1, relu=False),
)

SCOPES: tuple[str, ...] = tuple(layer.scope for layer in LAYERS)

#: ``"<scope>/kernel"`` (HWIO) and ``"<scope>/bias"`` → shape.
EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {}
for _layer in LAYERS:
    EXPECTED_SHAPES[f"{_layer.scope}/kernel"] = (
        _layer.kernel,
        _layer.kernel,
        _layer.cin,
        _layer.cout,
    )
    EXPECTED_SHAPES[f"{_layer.scope}/bias"] = (_layer.cout,)

PARAMETER_COUNT = 24_934_209

#: Mean subtracted from R, G, B (in that order) by the network's first op.
RGB_MEAN: tuple[float, float, float] = (103.939, 116.779, 123.68)

#: Input height and width must be multiples of this (three 2×2 pools).
SIZE_MULTIPLE = 8


def gflops(height: int, width: int) -> float:
    """Convolution cost of one frame in GFLOPs (multiply-accumulates × 2).

    >>> round(gflops(48, 64), 2)
    3.64
    """
    macs = 0
    for layer in LAYERS:
        pixels = 1 if layer.global_pool else height // layer.scale * (width // layer.scale)
        macs += pixels * layer.kernel * layer.kernel * layer.cin * layer.cout
    return 2 * macs / 1e9
