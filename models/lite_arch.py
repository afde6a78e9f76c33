"""The lite network's layer table, without TensorFlow: its convolutions and their cost.

The Keras builder (:mod:`saliency_cam.models.lite`) follows this table, and the tests
check that the count here equals the built model's real convolutions.

>>> round(gmacs(240, 320), 2)
0.46
"""

from __future__ import annotations

from dataclasses import dataclass

ARCH = "lite"
#: Input sizes must be multiples of this (three stride-2 steps).
SIZE_MULTIPLE = 8
#: Inits the lite network accepts (``--init``).
INITS: tuple[str, ...] = ("random", "imagenet")
#: Channels of the encoder's own 1/8 blocks, the head and the decoder steps.
HEAD_CHANNELS = 64
FUSED_CHANNELS = 96
DECODER_CHANNELS = (48, 24)


@dataclass(frozen=True)
class LiteConv:
    """One convolution: ``depthwise`` ones have ``cin == cout`` and cost k²·C per
    output pixel; ``scale`` is the output stride (0 = the global 1×1 branch)."""

    name: str
    kernel: int
    cin: int
    cout: int
    scale: int
    depthwise: bool = False

    def macs(self, height: int, width: int) -> int:
        """Multiply-accumulates of this convolution on one ``height``×``width`` frame."""
        pixels = 1 if self.scale == 0 else (height // self.scale) * (width // self.scale)
        per_pixel = (
            self.kernel * self.kernel * (self.cin if self.depthwise else self.cin * self.cout)
        )
        return pixels * per_pixel


def _inverted(name: str, cin: int, cout: int, expand: int, scale: int, stride: int = 1):
    """Expand 1×1 (none when ``expand`` is 1), depthwise 3×3, project 1×1 (MobileNetV2)."""
    hidden = cin * expand
    layers = []
    if expand != 1:
        layers.append(LiteConv(f"{name}_expand", 1, cin, hidden, scale // stride))
    layers.append(LiteConv(f"{name}_depthwise", 3, hidden, hidden, scale, depthwise=True))
    layers.append(LiteConv(f"{name}_project", 1, hidden, cout, scale))
    return layers


#: MobileNetV2's first blocks (stride 8, Keras names): (name, cin, cout, expand, scale, stride)
MOBILENET_BLOCKS: tuple[tuple[str, int, int, int, int, int], ...] = (
    ("expanded_conv", 32, 16, 1, 2, 1),
    ("block_1", 16, 24, 6, 4, 2),
    ("block_2", 24, 24, 6, 4, 1),
    ("block_3", 24, 32, 6, 8, 2),
    ("block_4", 32, 32, 6, 8, 1),
    ("block_5", 32, 32, 6, 8, 1),
)
#: The encoder's own blocks at 1/8: (name, cin, cout, dilation)
OWN_BLOCKS: tuple[tuple[str, int, int, int], ...] = (
    ("lite_block_6", 32, HEAD_CHANNELS, 2),
    ("lite_block_7", HEAD_CHANNELS, HEAD_CHANNELS, 2),
    ("lite_block_8", HEAD_CHANNELS, HEAD_CHANNELS, 4),
)
#: Dilations of the head's depthwise-separable branches.
HEAD_DILATIONS: tuple[int, ...] = (2, 4, 6)
#: Channels of the encoder features the decoder joins in: block_2's output at 1/4 and
#: expanded_conv's at 1/2 (fine detail the 1/8 head cannot carry).
SKIP_CHANNELS = 24
FINE_SKIP_CHANNELS = 16


def _layers() -> tuple[LiteConv, ...]:
    out = [LiteConv("Conv1", 3, 3, 32, 2)]
    for name, cin, cout, expand, scale, stride in MOBILENET_BLOCKS:
        out += _inverted(name, cin, cout, expand, scale, stride)
    for name, cin, cout, _ in OWN_BLOCKS:
        out += _inverted(name, cin, cout, 6, 8)
    c = HEAD_CHANNELS
    out.append(LiteConv("head_1x1", 1, c, c, 8))
    for d in HEAD_DILATIONS:
        out.append(LiteConv(f"head_d{d}_depthwise", 3, c, c, 8, depthwise=True))
        out.append(LiteConv(f"head_d{d}_pointwise", 1, c, c, 8))
    out.append(LiteConv("head_global", 1, c, c, 0))
    out.append(LiteConv("head_fuse", 1, c * (2 + len(HEAD_DILATIONS)), FUSED_CHANNELS, 8))
    cin = FUSED_CHANNELS + SKIP_CHANNELS
    for step, (cout, scale) in enumerate(zip(DECODER_CHANNELS, (4, 2), strict=True), 1):
        out.append(LiteConv(f"decoder_{step}_depthwise", 3, cin, cin, scale, depthwise=True))
        out.append(LiteConv(f"decoder_{step}_pointwise", 1, cin, cout, scale))
        cin = cout + FINE_SKIP_CHANNELS if step == 1 else cout
    out.append(LiteConv("decoder_out", 3, cin, 1, 2))
    return tuple(out)


#: Every convolution, in graph order (what :func:`gmacs` sums).
LAYERS: tuple[LiteConv, ...] = _layers()


def macs(height: int, width: int) -> int:
    """Multiply-accumulates of all convolutions for one ``height``×``width`` frame."""
    return sum(layer.macs(height, width) for layer in LAYERS)


def gmacs(height: int, width: int) -> float:
    """:func:`macs` in billions (GFLOPs are twice this)."""
    return macs(height, width) / 1e9


def check_size(height: int | None, width: int | None) -> None:
    """Refuse sizes that are not multiples of 8 (None = any size)."""
    for value in (height, width):
        if value is not None and value % SIZE_MULTIPLE:
            raise ValueError(f"lite input sizes must be multiples of 8, got {height}×{width}")


#: Weights of the network (trainable and BatchNorm statistics), as Keras counts them;
#: tests/models/test_lite.py checks it against the built model.
PARAMETER_COUNT = 258_193
