"""Floating-point ``Const`` nodes of a TensorFlow graph, read without running it.

Shared by the frozen-GraphDef and SavedModel readers: both publish MSI-Net's weights
as ``Const`` nodes, at the top level (TF1 frozen graphs) or inside function bodies
reached through ``PartitionedCall`` nodes (TF2 frozen SavedModels).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from saliency_cam.export.readers.names import Candidate

#: TensorFlow DataType enum values of the float types weights may be stored in
#: (DT_FLOAT, DT_DOUBLE, DT_HALF, DT_BFLOAT16).
_FLOAT_TYPES = frozenset({1, 2, 19, 14})


def const_candidates(nodes: Iterable[Any]) -> Iterator[Candidate]:
    """A :class:`Candidate` per floating-point ``Const`` in ``nodes`` (NodeDef protos),
    decoded lazily."""
    for node in nodes:
        if node.op != "Const" or "value" not in node.attr:
            continue
        tensor = node.attr["value"].tensor
        if tensor.dtype not in _FLOAT_TYPES:
            continue
        shape = tuple(int(d.size) for d in tensor.tensor_shape.dim)
        yield Candidate(node.name, shape, _loader(tensor))


def _loader(tensor: Any):  # -> Callable[[], np.ndarray]
    def load():
        import numpy as np
        import tensorflow as tf

        return np.asarray(tf.make_ndarray(tensor), dtype=np.float32)

    return load


def called_functions(node: Any) -> Iterator[str]:
    """Names of library functions a NodeDef calls: the ``f`` of (Stateful)PartitionedCall,
    any other function-valued attribute (``then_branch``, ``body``, …), or its op when
    the op is itself a function."""
    for value in node.attr.values():
        if value.HasField("func"):
            yield value.func.name
        elif value.HasField("list"):
            for func in value.list.func:
                yield func.name
    yield node.op  # filtered against the library by the caller


def reachable_functions(roots: Iterable[Any], library: dict[str, Any]) -> list[Any]:
    """FunctionDefs from ``library`` (name → FunctionDef) called, directly or through
    other functions, by the NodeDefs ``roots``."""
    seen: dict[str, Any] = {}
    stack = [name for node in roots for name in called_functions(node) if name in library]
    while stack:
        name = stack.pop()
        if name in seen:
            continue
        seen[name] = library[name]
        for node in library[name].node_def:
            stack.extend(n for n in called_functions(node) if n in library and n not in seen)
    return list(seen.values())


def upstream_nodes(graph_nodes: Iterable[Any], outputs: Iterable[str]) -> list[Any]:
    """Top-level NodeDefs the tensors ``outputs`` (``"name:0"``) depend on."""
    by_name = {node.name: node for node in graph_nodes}
    stack = [_node_name(t) for t in outputs]
    seen: dict[str, Any] = {}
    while stack:
        name = stack.pop()
        if name in seen or name not in by_name:
            continue
        seen[name] = by_name[name]
        stack.extend(_node_name(i) for i in by_name[name].input)
    return list(seen.values())


def _node_name(tensor: str) -> str:
    return tensor.lstrip("^").split(":")[0]
