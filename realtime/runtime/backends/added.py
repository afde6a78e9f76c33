"""A user's own ONNX model (``saliency-cam models add``) on onnxruntime, with its declared
:class:`~saliency_cam.models.contract.Contract` around it: uint8 BGR frames in, maps in
[0, 1] out, like every other engine. One frame per run (such graphs rarely batch); the
graph always gets the contract's size (the session letterboxes frames into it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.contract import Contract, check_graph
from saliency_cam.realtime.runtime.backends.base import EngineOptions
from saliency_cam.realtime.runtime.providers import ProviderChoice


def graph_io(session: Any) -> tuple[str, list[Any], str, list[Any]]:
    """The first input's and output's type and shape of an ``InferenceSession``."""
    first, out = session.get_inputs()[0], session.get_outputs()[0]
    return first.type, list(first.shape or []), out.type, list(out.shape or [])


class AddedModelEngine:
    """An added ONNX file under its contract (checked against the graph on opening)."""

    backend = "onnxruntime"
    dynamic = False
    batchable = False
    note = ""

    def __init__(
        self, path: Path, contract: Contract, choice: ProviderChoice, options: EngineOptions
    ) -> None:
        import onnxruntime as ort

        session_options = ort.SessionOptions()
        if options.threads:
            session_options.intra_op_num_threads = options.threads
        self.session = ort.InferenceSession(
            str(path), sess_options=session_options, providers=choice.providers
        )
        self.providers: list[str] = list(self.session.get_providers())
        self.contract, self.dtype = check_graph(contract, *graph_io(self.session))
        self.input_name: str = self.session.get_inputs()[0].name

    @property
    def size(self) -> tuple[int, int]:
        """``(H, W)`` the graph is fed at."""
        assert self.contract.size is not None  # check_graph fills it in
        return self.contract.size

    def run(self, batch: np.ndarray) -> np.ndarray:
        """uint8 ``[N, H, W, 3]`` → float32 ``[N, H, W, 1]`` (one run per frame)."""
        size = (int(batch.shape[1]), int(batch.shape[2]))
        maps = []
        for frame in batch:
            tensor = self.contract.preprocess(frame[None], self.dtype)
            output = self.session.run(None, {self.input_name: tensor})[0]
            maps.append(self.contract.postprocess(np.asarray(output), size))
        return np.stack(maps)[..., None]
