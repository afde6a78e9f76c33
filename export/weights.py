"""The common result of every weight reader, and the check that it fits MSI-Net.

Every published form (Hugging Face SavedModel, TF.js graph model, frozen GraphDef,
Keras weights, seeded random) is read into the same thing: a mapping from the
original scope names (``conv1/conv1_1/kernel`` … ``decoder/conv4/bias``) to arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from saliency_cam.models.architectures import DEFAULT_ARCH, get_architecture
from saliency_cam.models.errors import WeightsError

WeightMap = dict[str, np.ndarray]


@dataclass
class LoadedWeights:
    """Weights plus where they came from, as recorded in the manifest.

    ``trained`` is False only for seeded random weights (tests and speed benchmarks).
    """

    weights: WeightMap
    source: str
    revision: str = ""
    dataset: str = "salicon"
    trained: bool = True
    origin: str = ""
    extra: dict[str, str] = field(default_factory=dict)
    #: the network these weights are for (``saliency_cam.models.architectures``)
    arch: str = DEFAULT_ARCH

    def describe(self) -> dict[str, object]:
        """The manifest's ``weights`` entry."""
        return {
            "source": self.source,
            "revision": self.revision,
            "dataset": self.dataset,
            "trained": self.trained,
            "origin": self.origin,
            **self.extra,
        }


def check_weights(
    weights: Mapping[str, np.ndarray], origin: str = "weights", arch: str = DEFAULT_ARCH
) -> WeightMap:
    """Return ``weights`` as float32 arrays if they fit the architecture ``arch`` (MSI-Net
    by default) exactly, else raise one :class:`WeightsError` naming what is missing,
    extra or mis-shaped."""
    network = get_architecture(arch)
    EXPECTED_SHAPES = network.expected_shapes  # noqa: N806 - the table's usual name
    missing = sorted(set(EXPECTED_SHAPES) - set(weights))
    extra = sorted(set(weights) - set(EXPECTED_SHAPES))
    misshaped = [
        f"{name} {tuple(np.shape(weights[name]))} (expected {shape})"
        for name, shape in EXPECTED_SHAPES.items()
        if name in weights and tuple(np.shape(weights[name])) != shape
    ]
    problems = []
    if missing:
        problems.append(f"missing {_short(missing)}")
    if extra:
        problems.append(f"unexpected {_short(extra)}")
    if misshaped:
        problems.append(f"wrong shape {_short(misshaped)}")
    if problems:
        raise WeightsError(f"{origin} do not fit {network.title}: " + "; ".join(problems))
    out: WeightMap = {}
    for name in EXPECTED_SHAPES:
        array = np.asarray(weights[name], dtype=np.float32)
        if not np.all(np.isfinite(array)):
            raise WeightsError(f"{origin}: {name} contains NaN or infinite values")
        out[name] = array
    return out


def _short(items: list[str], limit: int = 4) -> str:
    head = ", ".join(items[:limit])
    return head + (f" and {len(items) - limit} more" if len(items) > limit else "")
