"""fold_weights: weight inputs become initializers, weight-only nodes are computed away,
separate bias adds return into their convolutions, and the outputs do not change."""

from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

from onnx import TensorProto, helper  # noqa: E402

from saliency_cam.export.fold import FoldError, fold_weights  # noqa: E402


def traced_like_tf2onnx():
    """A conv layer as tf2onnx emits it when the weights are graph inputs: an HWIO
    kernel transposed to OIHW, a bias reshaped and added after the convolution."""
    nodes = [
        helper.make_node("Transpose", ["kernel"], ["kernel_oihw"], perm=[3, 2, 0, 1]),
        helper.make_node("Reshape", ["bias", "bias_shape"], ["bias_4d"]),
        helper.make_node("Conv", ["x", "kernel_oihw"], ["conv"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["conv", "bias_4d"], ["pre"]),
        helper.make_node("Relu", ["pre"], ["y"]),
    ]
    graph = helper.make_graph(
        nodes,
        "traced",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 2, 5, 5]),
            helper.make_tensor_value_info("kernel", TensorProto.FLOAT, [3, 3, 2, 4]),
            helper.make_tensor_value_info("bias", TensorProto.FLOAT, [4]),
        ],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 5, 5])],
        [onnx.numpy_helper.from_array(np.array([1, 4, 1, 1], np.int64), "bias_shape")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def run(model, feeds):
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)[0]


def test_folded_graph_gives_the_same_output_with_one_input() -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
    weights = {
        "kernel": rng.standard_normal((3, 3, 2, 4)).astype(np.float32),
        "bias": rng.standard_normal(4).astype(np.float32),
    }
    model = traced_like_tf2onnx()
    expected = run(model, {"x": x, **weights})

    folded = fold_weights(model, weights)
    onnx.checker.check_model(folded)
    assert [i.name for i in folded.graph.input] == ["x"]
    assert [n.op_type for n in folded.graph.node] == ["Conv", "Relu"]  # bias fused, rest folded
    (conv,) = [n for n in folded.graph.node if n.op_type == "Conv"]
    assert len(conv.input) == 3
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in folded.graph.initializer}
    assert inits[conv.input[1]].shape == (4, 2, 3, 3)  # the transpose was computed
    assert set(inits) == {conv.input[1], conv.input[2]}  # nothing unused left behind
    np.testing.assert_allclose(run(folded, {"x": x}), expected, rtol=0, atol=1e-6)


def test_weights_the_graph_does_not_take_are_refused() -> None:
    with pytest.raises(FoldError, match="no input for gamma"):
        fold_weights(traced_like_tf2onnx(), {"gamma": np.zeros(4, np.float32)})
