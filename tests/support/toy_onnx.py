"""Tiny ONNX saliency-like graphs built with ``onnx.helper`` (for ``models add`` and the
model comparison): a weighted channel sum in a chosen layout, dtype and output shape."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

#: Channel weights of the toy graphs (R, G, B in the graph's own channel order): unequal,
#: so a swapped channel order changes the map.
WEIGHTS = np.array([0.7, -0.2, 0.5], np.float32)


def make_graph(
    path: Path,
    *,
    layout: str = "nhwc",
    dtype: int = TensorProto.FLOAT,
    dims: tuple[object, object] = (32, 48),
    pool: bool = False,
    squeeze: bool = False,
    channels: int = 3,
    out_channels: int = 1,
    out_type: int = TensorProto.FLOAT,
    rank2_input: bool = False,
    nan: bool = False,
    reshape_to: tuple[int, ...] | None = None,
) -> Path:
    """A saliency-like toy graph: a weighted channel sum (optionally 2x2 average-pooled,
    so the map is smaller than the input), in the given layout and dtypes."""
    h, w = dims
    shape = [1, channels, h, w] if layout == "nchw" else [1, h, w, channels]
    if rank2_input:
        shape = [h, w]
    axis = 1 if layout == "nchw" else 3
    wshape = [1, channels, 1, 1] if layout == "nchw" else [1, 1, 1, channels]
    nodes, inits = (
        [],
        [
            numpy_helper.from_array(np.resize(WEIGHTS, channels).reshape(wshape), "w"),
            numpy_helper.from_array(np.array([axis], np.int64), "axes"),
        ],
    )
    x = "x"
    if dtype == TensorProto.UINT8:
        nodes.append(helper.make_node("Cast", ["x"], ["xf"], to=TensorProto.FLOAT))
        x = "xf"
    if rank2_input:
        nodes.append(helper.make_node("Identity", [x], ["y"]))
    else:
        nodes.append(helper.make_node("Mul", [x, "w"], ["m"]))
        nodes.append(helper.make_node("ReduceSum", ["m", "axes"], ["s"], keepdims=1))
        last = "s"
        if out_channels > 1:
            nodes.append(helper.make_node("Concat", [last] * out_channels, ["c"], axis=axis))
            last = "c"
        if pool:
            assert layout == "nchw"
            nodes.append(
                helper.make_node("AveragePool", [last], ["p"], kernel_shape=[2, 2], strides=[2, 2])
            )
            last = "p"
        if nan:
            inits.append(numpy_helper.from_array(np.array(-1.0, np.float32), "minus"))
            nodes.append(helper.make_node("Abs", [last], ["a"]))
            nodes.append(helper.make_node("Mul", ["a", "minus"], ["neg"]))
            nodes.append(helper.make_node("Sqrt", ["neg"], ["q"]))
            last = "q"
        if squeeze:
            inits.append(numpy_helper.from_array(np.array([axis], np.int64), "sq"))
            nodes.append(helper.make_node("Squeeze", [last, "sq"], ["z"]))
            last = "z"
        if reshape_to is not None:
            inits.append(numpy_helper.from_array(np.array(reshape_to, np.int64), "to"))
            nodes.append(helper.make_node("Reshape", [last, "to"], ["r"]))
            last = "r"
        if out_type != TensorProto.FLOAT:
            nodes.append(helper.make_node("Cast", [last], ["ci"], to=out_type))
            last = "ci"
        nodes.append(helper.make_node("Identity", [last], ["y"]))
    graph = helper.make_graph(
        nodes,
        "toy",
        [helper.make_tensor_value_info("x", dtype, shape)],
        [helper.make_tensor_value_info("y", out_type, None)],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, path)
    return path
