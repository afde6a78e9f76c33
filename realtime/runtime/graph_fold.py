"""Fold the parts of an ONNX graph that do not depend on the frames.

Two owners use it: the exporter (the weight-only nodes tf2onnx puts in front of the
weights) and the CUDA-graph path (a fixed-shape copy whose shape arithmetic becomes
constants, so no node is left for the CPU). ONNX's reference evaluator computes the
folded values exactly.

>>> fix_input_shapes(proto, (1, 240, 320, 3))   # doctest: +SKIP
>>> fold_constant_nodes(proto)                  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Never folded: an int8 model's quantize/dequantize pairs are what its int8 kernels fuse.
QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear"})


def fold_constant_nodes(proto: Any, max_elements: int | None = None) -> int:
    """Evaluate the nodes whose inputs are all initializers (or outputs of such nodes)
    and replace the tensors the rest of the graph reads from them with initializers,
    dropping initializers no node reads any more. With ``max_elements``, only nodes
    whose initializer inputs are that small are folded (shape arithmetic, not an int8
    model's weights).
    Edits ``proto`` in place; returns how many nodes were folded."""
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    graph = proto.graph
    static = {
        init.name
        for init in graph.initializer
        if max_elements is None or int(np.prod(init.dims)) <= max_elements
    }
    static_nodes, live_nodes = [], []
    for node in graph.node:
        if node.op_type not in QDQ_OPS and all(not name or name in static for name in node.input):
            static_nodes.append(node)
            static.update(node.output)
        else:
            live_nodes.append(node)
    if not static_nodes:
        return 0
    read = {name for node in live_nodes for name in node.input}
    read |= {value.name for value in graph.output}
    boundary = [name for node in static_nodes for name in node.output if name in read]
    constant_part = helper.make_graph(
        static_nodes,
        "constant_part",
        [],
        [helper.make_empty_tensor_value_info(name) for name in boundary],
        list(graph.initializer),
    )
    model = helper.make_model(constant_part, opset_imports=proto.opset_import)
    values = ReferenceEvaluator(model).run(None, {}) if boundary else []
    del graph.node[:]
    graph.node.extend(live_nodes)
    for name, value in zip(boundary, values, strict=True):
        graph.initializer.append(numpy_helper.from_array(np.asarray(value), name))
    drop_unused_initializers(graph)
    return len(static_nodes)


def drop_unused_initializers(graph: Any) -> None:
    """Remove the initializers no node and no graph output reads."""
    used = {name for node in graph.node for name in node.input}
    used |= {value.name for value in graph.output}
    kept = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)


def fix_input_shapes(proto: Any, shape: tuple[int, ...]) -> None:
    """Give the first graph input the fixed ``shape``, and turn every ``Shape`` node
    whose input then has a fully known shape into a constant (ONNX shape inference).
    Edits ``proto`` in place."""
    import onnx
    from onnx import numpy_helper

    _set_dims(proto.graph.input[0], shape)
    # Outputs keep their own (possibly symbolic) dims: inference fills them in.
    inferred = onnx.shape_inference.infer_shapes(proto, strict_mode=True)
    known: dict[str, list[int]] = {}
    for value in [*inferred.graph.value_info, *inferred.graph.input, *inferred.graph.output]:
        dims = value.type.tensor_type.shape.dim
        if dims and all(d.HasField("dim_value") for d in dims):
            known[value.name] = [d.dim_value for d in dims]
    for value in proto.graph.output:
        if value.name in known:
            _set_dims(value, tuple(known[value.name]))
    kept = []
    for node in proto.graph.node:
        if node.op_type == "Shape" and node.input[0] in known and len(node.attribute) == 0:
            dims = np.asarray(known[node.input[0]], np.int64)
            proto.graph.initializer.append(numpy_helper.from_array(dims, node.output[0]))
        else:
            kept.append(node)
    del proto.graph.node[:]
    proto.graph.node.extend(kept)


def _set_dims(value: Any, shape: tuple[int, ...]) -> None:
    dims = value.type.tensor_type.shape.dim
    if len(dims) != len(shape):
        raise ValueError(f"{value.name} has {len(dims)} dimensions, not {len(shape)}")
    for dim, size in zip(dims, shape, strict=True):
        dim.Clear()
        dim.dim_value = int(size)
