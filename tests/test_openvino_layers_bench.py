"""The padding-MAC counter of ``benchmarks/openvino_layers.py``: the figure that says
whether issue 13's AVX2 goal is reachable without changing the network."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "openvino_layers.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("openvino_layers", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def taps_inside_by_mask(size: int, kernel: int, stride: int, dilation: int, pad: int) -> int:
    """Independent count: slide the kernel over a zero-padded map of ones."""
    padded = np.pad(np.ones(size), pad)
    out = (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    return int(sum(padded[o * stride + k * dilation] for o in range(out) for k in range(kernel)))


@pytest.mark.parametrize(
    ("size", "kernel", "stride", "dilation", "pad"),
    [(23, 3, 1, 12, 12), (40, 3, 1, 8, 8), (30, 3, 1, 1, 1), (15, 3, 2, 1, 1), (9, 1, 1, 1, 0)],
)
def test_valid_taps_match_a_padded_mask(bench, size, kernel, stride, dilation, pad) -> None:
    out = (size + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1
    assert bench.axis_valid_taps(size, out, kernel, stride, dilation, pad) == (
        taps_inside_by_mask(size, kernel, stride, dilation, pad)
    )


def test_conv_macs_of_a_dilated_openvino_conv(bench) -> None:
    ov = pytest.importorskip("openvino")
    from openvino import opset13 as ops

    x = ops.parameter([1, 4, 23, 40], np.float32)
    w = ops.constant(np.ones((2, 4, 3, 3), np.float32))
    conv = ops.convolution(x, w, [1, 1], [12, 12], [12, 12], [12, 12])
    ov.Model([conv], [x])
    total, valid = bench.conv_macs(conv)
    assert total == 2 * 4 * 23 * 40 * 9
    # rows: 23 centre + 2 * 11 shifted; columns: 40 + 2 * 28
    assert valid == 2 * 4 * (23 + 2 * 11) * (40 + 2 * 28)


def test_ceilings_are_the_frame_at_the_lone_conv_rate_with_and_without_padding(bench) -> None:
    layers = [
        {"ms": 60.0, "gmac": 6.0, "gmac_on_padding": 2.0},  # 100 GMAC/s
        {"ms": 30.0, "gmac": 3.0, "gmac_on_padding": 0.0},
        {"ms": 10.0},  # not a convolution
    ]
    found = bench.ceilings(layers, frame_s=0.1, best_rate=150e9, goal_fps=10.0)
    assert found["model_gmac_per_s"] == 100.0
    assert found["conv_share_of_layer_time"] == 0.9
    # 9 GMAC at 150 GMAC/s = 60 ms, + 10 ms other = 70 ms; no padding: 7 GMAC → 56.67 ms
    assert found["ceiling_fps_every_conv_at_lone_rate"] == round(1 / 0.070, 2)
    assert found["ceiling_fps_and_no_padding"] == round(1 / (7 / 150 + 0.010), 2)
    assert found["goal_reachable_without_changing_the_network"] is True
    # per-layer counters that overlap (a busy machine) are scaled to the frame time
    busy = bench.ceilings(layers, frame_s=0.05, best_rate=150e9, goal_fps=30.0)
    assert busy["layer_time_vs_frame_time"] == 2.0 and busy["model_gmac_per_s"] == 200.0
    assert busy["goal_reachable_without_changing_the_network"] is False
