"""The original frozen graphs ``model_<dataset>_<cpu|gpu>.pb`` (TF1 GraphDefs).

Each graph takes a placeholder ``input`` (RGB 0..255, NHWC) and ends in ``output``;
its weights are ``Const`` nodes ``<scope>/kernel`` and ``<scope>/bias``. The ``gpu``
graphs compute in NCHW internally, but their kernels are still stored HWIO, so both
layouts read the same way. They are published inside zips on Google Drive; this
reader takes the ``.pb``, the ``.zip`` or a folder holding the ``.pb``.

>>> read_frozen_graph("model_salicon_cpu.zip", dataset="salicon").extra  # doctest: +SKIP
{'graph': 'model_salicon_cpu.pb', 'layout': 'NHWC'}
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path

from saliency_cam.export.readers.graph_constants import const_candidates
from saliency_cam.export.readers.names import assign_weights
from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.errors import WeightsError

_GRAPH_NAME = re.compile(r"^model_(?P<dataset>[a-z0-9]+)_(?P<device>cpu|gpu)\.pb$")


def graph_filename(dataset: str, device: str) -> str:
    """The published name of a frozen graph, e.g. ``model_salicon_cpu.pb``."""
    return f"model_{dataset}_{device}.pb"


def read_frozen_graph(
    path: str | os.PathLike[str], *, dataset: str = "salicon", device: str = "cpu"
) -> LoadedWeights:
    """Read MSI-Net's weights from a frozen graph given as ``.pb``, ``.zip`` or folder.

    In a zip or folder, ``model_<dataset>_<device>.pb`` is used, else the only ``.pb``
    there. A graph named for another dataset than ``dataset`` is refused (its weights
    were trained on other data). Raises :class:`WeightsError` for an unreadable,
    truncated or non-MSI-Net file.
    """
    source = Path(path)
    if not source.exists():
        raise WeightsError(f"{source} does not exist: pass the .pb or .zip of the frozen graph")
    if source.is_dir():
        return _read_pb(_pick_graph(list(source.glob("*.pb")), source, dataset, device), dataset)
    if source.suffix.lower() == ".zip":
        with tempfile.TemporaryDirectory(prefix="msinet-graph-") as tmp:
            members = _extract(source, Path(tmp))
            graph = _pick_graph([m for m in members if m.suffix == ".pb"], source, dataset, device)
            loaded = _read_pb(graph, dataset)
        loaded.origin = f"{loaded.origin} in {source.name}"
        return loaded
    return _read_pb(source, dataset)


def _extract(zip_path: Path, dest: Path) -> list[Path]:
    from saliency_cam.export.download import extract_zip_safely

    return extract_zip_safely(zip_path, dest)


def _pick_graph(graphs: list[Path], where: Path, dataset: str, device: str) -> Path:
    wanted = graph_filename(dataset, device)
    for graph in graphs:
        if graph.name == wanted:
            return graph
    if len(graphs) == 1:
        return graphs[0]
    names = ", ".join(sorted(g.name for g in graphs)) or "no .pb file"
    raise WeightsError(f"{where} holds {names}; expected {wanted}: pass that file instead")


def _read_pb(pb: Path, dataset: str) -> LoadedWeights:
    from google.protobuf.message import DecodeError
    from tensorflow.core.framework import graph_pb2

    match = _GRAPH_NAME.match(pb.name)
    if match and match["dataset"] != dataset:
        raise WeightsError(
            f"{pb.name} is the {match['dataset']} model, not {dataset}: pass "
            f"--dataset {match['dataset']} or the {graph_filename(dataset, 'cpu')} file"
        )
    try:
        data = pb.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {pb}: {exc.strerror or exc}") from exc
    graph = graph_pb2.GraphDef()
    try:
        graph.ParseFromString(data)
    except DecodeError as exc:
        raise WeightsError(
            f"{pb} is not a readable TensorFlow graph (truncated or damaged: {exc}): "
            "download it again"
        ) from exc
    if not graph.node:
        raise WeightsError(f"{pb} holds no TensorFlow graph nodes: is it the right file?")
    nodes = list(graph.node)
    for function in graph.library.function:
        nodes.extend(function.node_def)
    weights = assign_weights(const_candidates(nodes), f"{pb.name}")
    layout = _layout(nodes)
    return LoadedWeights(
        weights,
        source="pb",
        revision=f"sha256:{hashlib.sha256(data).hexdigest()[:16]}",
        dataset=dataset,
        trained=True,
        origin=f"original frozen graph {pb.name} ({layout})",
        extra={"graph": pb.name, "layout": layout},
    )


def _layout(nodes: list) -> str:
    """NCHW when the graph's convolutions run channels-first (the gpu graphs)."""
    for node in nodes:
        if node.op in ("Conv2D", "_FusedConv2D") and "data_format" in node.attr:
            return node.attr["data_format"].s.decode() or "NHWC"
    return "NHWC"
