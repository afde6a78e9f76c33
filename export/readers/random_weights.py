"""Seeded random weights: for tests and speed benchmarks only (the model is UNTRAINED)."""

from __future__ import annotations

import numpy as np

from saliency_cam.export.weights import LoadedWeights, check_weights
from saliency_cam.models.architecture import LAYERS


def random_weights(seed: int = 0) -> LoadedWeights:
    """He-normal kernels and small biases from ``seed``; the same seed gives the same
    weights on every machine. Labelled ``trained=False``.

    >>> random_weights(0).trained
    False
    """
    rng = np.random.default_rng(seed)
    weights = {}
    for spec in LAYERS:
        fan_in = spec.kernel * spec.kernel * spec.cin
        shape = (spec.kernel, spec.kernel, spec.cin, spec.cout)
        weights[f"{spec.scope}/kernel"] = rng.standard_normal(shape, dtype=np.float32) * np.float32(
            np.sqrt(2.0 / fan_in)
        )
        weights[f"{spec.scope}/bias"] = rng.uniform(-0.05, 0.05, spec.cout).astype(np.float32)
    return LoadedWeights(
        check_weights(weights, "random weights"),
        source="random",
        revision=f"seed={seed}",
        dataset="none",
        trained=False,
        origin=f"seeded random (seed {seed}), UNTRAINED",
    )
