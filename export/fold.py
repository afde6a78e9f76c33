"""Put the weights into a graph that tf2onnx converted with the weights as inputs.

Converting MSI-Net with its 100 MB of weights as constants made tf2onnx peak at 5.5 GB
and take 17 s per variant (freezing, grappler and its own optimisers each copy every
constant). Traced with the weights as graph inputs instead, the same conversion takes
2–3 s and under 0.1 GB; this module then turns those inputs into initializers and
folds the weight-only nodes tf2onnx put in front of them (kernel ``Transpose``, bias
``Reshape``/``Squeeze``) with ONNX's reference evaluator, which computes them exactly.
A convolution whose bias ended up as a separate ``Add`` gets it back as its third input,
so the file has the same lean shape as a constant-folded conversion.

>>> fold_weights(proto, {"w0": kernel, "w1": bias, ...})   # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from saliency_cam.realtime.runtime.graph_fold import (
    drop_unused_initializers,
    fold_constant_nodes,
)


class FoldError(ValueError):
    """The traced graph does not fit the weights handed to :func:`fold_weights`."""


def fold_weights(proto: Any, weights: Mapping[str, np.ndarray]) -> Any:
    """Turn the graph inputs named in ``weights`` into initializers holding those
    values, fold every node that depends on weights alone, and fuse separate bias adds
    into their convolutions. Edits ``proto`` in place and returns it."""
    from onnx import numpy_helper

    graph = proto.graph
    names = [value.name for value in graph.input]
    missing = sorted(set(weights) - set(names))
    if missing:
        raise FoldError(f"the traced graph has no input for {', '.join(missing[:5])}")
    kept_inputs = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(kept_inputs)
    for name, value in weights.items():
        graph.initializer.append(numpy_helper.from_array(np.asarray(value, np.float32), name))
    fold_constant_nodes(proto)
    _fuse_conv_bias(graph)
    drop_unused_initializers(graph)
    return proto


def _fuse_conv_bias(graph: Any) -> None:
    """``Add(Conv(x, W), b)`` with a constant per-channel ``b`` → ``Conv(x, W, b)``."""
    from onnx import numpy_helper

    inits = {init.name: init for init in graph.initializer}
    consumers: dict[str, list[Any]] = {}
    for node in graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node)
    outputs = {value.name for value in graph.output}
    fused: set[int] = set()
    for conv in graph.node:
        if conv.op_type != "Conv" or len(conv.input) != 2 or conv.input[1] not in inits:
            continue
        users = consumers.get(conv.output[0], [])
        if len(users) != 1 or users[0].op_type != "Add" or conv.output[0] in outputs:
            continue
        add = users[0]
        other = add.input[1] if add.input[0] == conv.output[0] else add.input[0]
        channels = inits[conv.input[1]].dims[0]
        if other not in inits or int(np.prod(inits[other].dims)) != channels:
            continue
        bias = numpy_helper.to_array(inits[other]).reshape(channels)
        name = f"{conv.name}__bias"
        graph.initializer.append(numpy_helper.from_array(bias.astype(np.float32), name))
        conv.input.append(name)
        conv.output[0] = add.output[0]
        fused.add(id(add))
    if fused:
        kept = [node for node in graph.node if id(node) not in fused]
        del graph.node[:]
        graph.node.extend(kept)
