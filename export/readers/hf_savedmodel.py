"""The Hugging Face SavedModel (``alexanderkroner/MSI-Net``, trained on SALICON).

It is a frozen TF2 SavedModel: ``variables/`` is empty and the weights are float32
``Const`` nodes ``<scope>/kernel`` and ``<scope>/bias`` inside a function body that the
``serving_default`` signature reaches through nested ``PartitionedCall`` nodes. The
protobuf is parsed, never executed: nothing in the file runs.

>>> read_hf_savedmodel("MSI-Net/", revision="6bc49c1…").revision  # doctest: +SKIP
'6bc49c1…'
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from saliency_cam.export.readers.graph_constants import (
    const_candidates,
    reachable_functions,
    upstream_nodes,
)
from saliency_cam.export.readers.names import Candidate, assign_weights
from saliency_cam.export.weights import LoadedWeights
from saliency_cam.models.errors import WeightsError
from saliency_cam.models.registry import HF_REPO_ID

SIGNATURE = "serving_default"


def read_hf_savedmodel(path: str | os.PathLike[str], *, revision: str = "") -> LoadedWeights:
    """Read the frozen weights of a SavedModel folder (or its ``saved_model.pb``).

    ``revision`` is recorded as given (the pinned Hub commit); when empty, the sha256
    of ``saved_model.pb`` identifies the weights instead.
    """
    source = Path(path)
    pb = source / "saved_model.pb" if source.is_dir() else source
    if not pb.is_file():
        raise WeightsError(
            f"{source} holds no saved_model.pb: pass the folder downloaded from "
            f"https://huggingface.co/{HF_REPO_ID}"
        )
    data = _read(pb)
    saved_model = _parse(pb, data)
    meta = _serving_meta_graph(saved_model)
    candidates = _signature_constants(meta)
    try:
        weights = assign_weights(candidates, f"{pb}")
    except WeightsError as exc:
        variables = pb.parent / "variables" / "variables.index"
        if variables.is_file() and variables.stat().st_size > 0 and not candidates:
            raise WeightsError(
                f"{pb} keeps its weights in variables/, not frozen as constants: this is "
                f"not the published {HF_REPO_ID} model"
            ) from exc
        raise
    return LoadedWeights(
        weights,
        source="hf",
        revision=revision or f"sha256:{hashlib.sha256(data).hexdigest()[:16]}",
        dataset="salicon",
        trained=True,
        origin=f"Hugging Face {HF_REPO_ID} SavedModel"
        + ("" if revision else f" (local {pb.parent})"),
    )


def _read(pb: Path) -> bytes:
    try:
        return pb.read_bytes()
    except OSError as exc:
        raise WeightsError(f"cannot read {pb}: {exc.strerror or exc}") from exc


def _parse(pb: Path, data: bytes) -> Any:
    from google.protobuf.message import DecodeError
    from tensorflow.core.protobuf import saved_model_pb2

    saved_model = saved_model_pb2.SavedModel()
    try:
        saved_model.ParseFromString(data)
    except DecodeError as exc:
        raise WeightsError(
            f"{pb} is not a readable SavedModel (truncated or damaged: {exc}): download it again"
        ) from exc
    if not saved_model.meta_graphs:
        raise WeightsError(f"{pb} holds no graph: is it a SavedModel's saved_model.pb?")
    return saved_model


def _serving_meta_graph(saved_model: Any) -> Any:
    for meta in saved_model.meta_graphs:
        if "serve" in meta.meta_info_def.tags:
            return meta
    return saved_model.meta_graphs[0]


def _signature_constants(meta: Any) -> list[Candidate]:
    """Float constants the ``serving_default`` signature depends on (all of the graph's
    constants when the signature is absent)."""
    graph = meta.graph_def
    library = {f.signature.name: f for f in graph.library.function}
    signature = meta.signature_def.get(SIGNATURE)
    if signature is not None and signature.outputs:
        roots = upstream_nodes(graph.node, [t.name for t in signature.outputs.values()])
        functions = reachable_functions(roots, library)
    else:
        roots, functions = list(graph.node), list(library.values())
    nodes = list(roots)
    for function in functions:
        nodes.extend(function.node_def)
    return list(const_candidates(nodes))
