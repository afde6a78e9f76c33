"""Give an exported fixed-size MSI-Net graph symbolic batch, height and width.

tf2onnx converts a *fixed-size* trace into a lean graph (70 nodes: dilated convolutions
stay single ``Conv`` ops). Tracing with unknown sizes instead makes TensorFlow express
every dilated convolution as SpaceToBatch → Conv → BatchToSpace (491 nodes), which
onnxruntime ran 1.6–1.75× slower (benchmarks/results/dynamic_shapes.json). So the
export traces at the preset size and then rewrites the few size-bound nodes:

* ``Reshape`` to ``[1, C, 1, 1]`` (the global-context branch) → batch ``-1``;
* ``Reshape`` of the ``[N, 1, H, W]`` map to ``[1, H, W, 1]`` → ``Transpose(0, 2, 3, 1)``;
* the global branch's bilinear ``Resize`` of a 1×1 map by constant scales →
  ``Expand`` to the encoder features' height and width (bilinear from one pixel is that
  pixel everywhere, so this is exact);
* input and output dims → ``batch``, ``height``, ``width``.

Every other node is size-free for inputs that are multiples of 8 (stride-2 pools see
even sizes, so "SAME" adds no padding). The export's parity check then runs the result
against TensorFlow at the preset size, at another aspect and with a batch of two.
"""

from __future__ import annotations

from typing import Any

import numpy as np

DIM_NAMES: tuple[str, str, str] = ("batch", "height", "width")


class DynamicShapeError(ValueError):
    """The graph has a size-bound node this rewrite does not know."""


def make_dynamic(proto: Any, height: int, width: int) -> Any:
    """Rewrite ``proto`` (exported at ``height``×``width``, batch 1) in place so that it
    takes ``[batch, height, width, 3]`` for any batch and any multiples of 8; return it."""
    from onnx import helper, numpy_helper

    graph = proto.graph
    first = graph.input[0].type.tensor_type.shape.dim
    if [d.dim_param for d in first[:3]] == list(DIM_NAMES):
        return proto  # already dynamic
    inits = {init.name: init for init in graph.initializer}
    producers = {out: node for node in graph.node for out in node.output}
    new_nodes = []
    added: set[str] = set()
    for node in graph.node:
        if node.op_type == "Reshape" and node.input[1] in inits:
            shape = numpy_helper.to_array(inits[node.input[1]])
            if shape.tolist() == [1, height, width, 1]:
                new_nodes.append(
                    helper.make_node(
                        "Transpose",
                        [node.input[0]],
                        list(node.output),
                        node.name,
                        perm=[0, 2, 3, 1],
                    )
                )
                continue
            if shape.size == 4 and shape[0] == 1 and shape[2] == 1 and shape[3] == 1:
                name = f"{node.input[1]}__any_batch"
                fixed = shape.copy()
                fixed[0] = -1
                if name not in added:  # two Reshapes may share one shape constant
                    added.add(name)
                    graph.initializer.append(numpy_helper.from_array(fixed.astype(np.int64), name))
                node.input[1] = name
                new_nodes.append(node)
                continue
            raise DynamicShapeError(f"Reshape {node.name} to {shape.tolist()} is size-bound")
        if node.op_type == "Resize" and len(node.input) >= 3 and node.input[2] in inits:
            scales = numpy_helper.to_array(inits[node.input[2]]).tolist()
            if scales == [1.0, 1.0, 2.0, 2.0]:
                new_nodes.append(node)  # ×2 upsampling: size-free
                continue
            new_nodes.extend(_expand_like_features(node, producers, height, width))
            continue
        if node.op_type == "Resize":
            raise DynamicShapeError(f"Resize {node.name} has no constant scales")
        new_nodes.append(node)
    del graph.node[:]
    graph.node.extend(new_nodes)
    name_dynamic_dims(proto)
    del graph.value_info[:]  # shapes recorded at the fixed size no longer hold
    used = {name for node in graph.node for name in node.input}
    keep = [init for init in graph.initializer if init.name in used]
    del graph.initializer[:]
    graph.initializer.extend(keep)
    return proto


def name_dynamic_dims(proto: Any) -> Any:
    """Name the input's and output's first three dims ``batch``, ``height``, ``width``
    (what the runtime and the export's checks expect); returns ``proto``."""
    graph = proto.graph
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        for dim, name in zip(dims, DIM_NAMES, strict=False):
            dim.ClearField("dim_value")
            dim.dim_param = name
    return proto


def _expand_like_features(node: Any, producers: dict[str, Any], height: int, width: int) -> list:
    """Replace the global branch's 1×1 → (H/8, W/8) Resize with an Expand to the height
    and width of the encoder features (the tensor the global mean was taken over)."""
    from onnx import helper

    features, first_axis = _global_pool_input(node.input[0], producers)
    prefix = node.name
    shape, hw, ones, target = (f"{prefix}__{s}" for s in ("shape", "hw", "ones", "target"))
    return [
        helper.make_node(
            "Constant", [], [f"{prefix}__s"], value=_ints(f"{prefix}__s_v", [first_axis])
        ),
        helper.make_node(
            "Constant", [], [f"{prefix}__e"], value=_ints(f"{prefix}__e_v", [first_axis + 2])
        ),
        helper.make_node("Constant", [], [ones], value=_ints(f"{prefix}__ones_v", [1, 1])),
        helper.make_node("Shape", [features], [shape], f"{prefix}__Shape"),
        helper.make_node(
            "Slice", [shape, f"{prefix}__s", f"{prefix}__e"], [hw], f"{prefix}__Slice"
        ),
        helper.make_node("Concat", [ones, hw], [target], f"{prefix}__Concat", axis=0),
        helper.make_node("Expand", [node.input[0], target], list(node.output), f"{prefix}__Expand"),
    ]


def _ints(name: str, values: list[int]) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(values, np.int64), name)


def _global_pool_input(name: str, producers: dict[str, Any]) -> tuple[str, int]:
    """Walk up from the Resize's input to the global mean and return its input and the
    axis where that input's height and width start: a GlobalAveragePool (NCHW, MSI-Net's
    graph: 2) or a ReduceMean over axes 1 and 2 (NHWC, left so by tf2onnx when BatchNorm
    ops sit before it, as in the lite network: 1)."""
    seen = 0
    while name in producers and seen < 16:
        node = producers[name]
        if node.op_type == "GlobalAveragePool":
            return node.input[0], 2
        if node.op_type == "ReduceMean":
            axes = next((list(a.ints) for a in node.attribute if a.name == "axes"), None)
            if axes in ([1, 2], [2, 3]):
                return node.input[0], axes[0]
        name = node.input[0]
        seen += 1
    raise DynamicShapeError("cannot find the global-context branch's GlobalAveragePool")
