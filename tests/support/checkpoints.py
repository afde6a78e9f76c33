"""Read a training run's resumable state for the resume tests: every array of its
latest ``tf.train.Checkpoint`` (model weights, Adam's step count and moments, the step)
and how far two such states are apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

#: Bookkeeping a checkpoint holds besides the training state (how many saves were made).
NOT_STATE = ("_CHECKPOINTABLE_OBJECT_GRAPH", "save_counter/")


def latest_state(run: Path) -> dict[str, np.ndarray]:
    """The arrays of the checkpoint ``run/state.json`` names, by checkpoint key."""
    import tensorflow as tf

    name = json.loads((run / "state.json").read_text())["checkpoint"]
    reader = tf.train.load_checkpoint(str(run / "latest" / name))
    return {
        key: np.asarray(reader.get_tensor(key))
        for key in reader.get_variable_to_shape_map()
        if not key.startswith(NOT_STATE)
    }


def state_differences(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> dict[str, float]:
    """Per key, the largest |a - b| relative to the largest |a| (1 for a missing key)."""
    out = {}
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b or a[key].shape != b[key].shape:
            out[key] = 1.0
            continue
        x, y = a[key].astype(np.float64), b[key].astype(np.float64)
        scale = max(float(np.abs(x).max(initial=0.0)), 1e-30)
        out[key] = float(np.abs(x - y).max(initial=0.0)) / scale
    return out
