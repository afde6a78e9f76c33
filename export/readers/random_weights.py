"""Seeded random weights: for tests and speed benchmarks only (the model is UNTRAINED)."""

from __future__ import annotations

import numpy as np

from saliency_cam.export.weights import LoadedWeights, check_weights
from saliency_cam.models.architectures import DEFAULT_ARCH, get_architecture


def random_weights(seed: int = 0, arch: str = DEFAULT_ARCH) -> LoadedWeights:
    """He-normal kernels and small biases from ``seed`` for architecture ``arch``; the
    same seed gives the same weights on every machine (other weights, such as ML-Net's
    prior, start at ones). Labelled ``trained=False``.

    >>> random_weights(0).trained
    False
    """
    network = get_architecture(arch)
    if network.seeded_builder:
        return LoadedWeights(
            check_weights(
                network.keras_module().extract_weights(network.build(seed=seed)),
                "random weights",
                network.name,
            ),
            source="random",
            revision=f"seed={seed}",
            dataset="none",
            trained=False,
            origin=f"seeded random (seed {seed}), UNTRAINED",
            arch=network.name,
        )
    rng = np.random.default_rng(seed)
    weights = {}
    for name, shape in network.expected_shapes.items():
        if name.endswith("/kernel"):
            fan_in = shape[0] * shape[1] * shape[2]
            weights[name] = rng.standard_normal(shape, dtype=np.float32) * np.float32(
                np.sqrt(2.0 / fan_in)
            )
        elif name.endswith("/bias"):
            weights[name] = rng.uniform(-0.05, 0.05, shape).astype(np.float32)
        else:
            weights[name] = np.ones(shape, np.float32)
    return LoadedWeights(
        check_weights(weights, "random weights", network.name),
        source="random",
        revision=f"seed={seed}",
        dataset="none",
        trained=False,
        origin=f"seeded random (seed {seed}), UNTRAINED",
        arch=network.name,
    )
