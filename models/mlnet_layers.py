"""ML-Net's layer table, without TensorFlow: scopes, shapes and per-frame cost.

ML-Net (Cornia, Baraldi, Serra, Cucchiara, "A Deep Multi-Level Network for Saliency
Prediction", ICPR 2016):

* encoder: VGG-16's 13 convolutions (3×3, ReLU, "same"), max pools 2/2 after blocks
  1-3, pool4 2×2 at stride **1** ("same"), no pool after block 5, so the pool3 output
  (256 ch), the pool4 output (512 ch) and conv5_3 (512 ch) are all at 1/8 of the input;
  concatenated to 1280 channels;
* head: dropout 0.5 → 3×3 conv to 64 channels (ReLU) → 1×1 conv to 1 channel (ReLU);
* a learned prior: a small map (6×8 here), initialised to ones, upsampled bilinearly to
  the feature size and multiplied with the head's output.

Weights are named like MSI-Net's (``<scope>/kernel`` HWIO, ``<scope>/bias``), so the
VGG-16 starts and the training loop are shared; the prior is ``prior/prior`` (6, 8).
"""

from __future__ import annotations

from saliency_cam.models.architecture import ConvSpec

#: Size of the learned prior (rows, columns), as in the authors' code for 480×640
#: input (a 60×80 output downsampled by 10).
PRIOR_SHAPE: tuple[int, int] = (6, 8)
PRIOR_SCOPE = "prior/prior"
#: Default λ of the prior's regulariser λ‖1 − prior‖²: one over the prior's 6×8 cells,
#: as the authors' code sets its L2 regulariser.
PRIOR_WEIGHT = 1.0 / (PRIOR_SHAPE[0] * PRIOR_SHAPE[1])
#: α of ML-Net's normalised loss ((φ/max φ − y) / (α − y))².
ALPHA = 1.1
DROPOUT = 0.5


def _vgg() -> list[ConvSpec]:
    specs = []
    blocks = [(1, 2, 3, 64, 1), (2, 2, 64, 128, 2), (3, 3, 128, 256, 4)]
    blocks += [(4, 3, 256, 512, 8), (5, 3, 512, 512, 8)]
    for block, count, cin, cout, scale in blocks:
        for i in range(1, count + 1):
            scope = f"conv{block}/conv{block}_{i}"
            specs.append(ConvSpec(scope, 3, cin if i == 1 else cout, cout, 1, scale))
    return specs


LAYERS: tuple[ConvSpec, ...] = (
    *_vgg(),
    ConvSpec("head/conv1", 3, 1280, 64, 1, 8),
    ConvSpec("head/conv2", 1, 64, 1, 1, 8),
)

EXPECTED_SHAPES: dict[str, tuple[int, ...]] = {}
for _layer in LAYERS:
    EXPECTED_SHAPES[f"{_layer.scope}/kernel"] = (
        _layer.kernel,
        _layer.kernel,
        _layer.cin,
        _layer.cout,
    )
    EXPECTED_SHAPES[f"{_layer.scope}/bias"] = (_layer.cout,)
EXPECTED_SHAPES[PRIOR_SCOPE] = PRIOR_SHAPE

PARAMETER_COUNT = (
    sum(layer.kernel * layer.kernel * layer.cin * layer.cout + layer.cout for layer in LAYERS)
    + PRIOR_SHAPE[0] * PRIOR_SHAPE[1]
)


def gflops(height: int, width: int) -> float:
    """Convolution cost of one frame in GFLOPs (multiply-accumulates × 2).

    >>> round(gflops(48, 64), 2)
    2.46
    """
    macs = 0
    for layer in LAYERS:
        pixels = height // layer.scale * (width // layer.scale)
        macs += pixels * layer.kernel * layer.kernel * layer.cin * layer.cout
    return 2 * macs / 1e9
