"""Match tensor names found in published files to MSI-Net's weight names.

Published forms name a weight by its original variable scope, but converters add
prefixes and suffixes: ``conv1/conv1_1/kernel`` may appear as
``StatefulPartitionedCall/msinet/conv1/conv1_1/Conv2D/ReadVariableOp``,
``conv1/conv1_1/Conv2D_weights`` or ``conv1/conv1_1/kernel/read/_3__cf__3``. A name is
matched by finding a known scope as consecutive path components, then deciding kernel
or bias from the component right after it (or, when nothing follows, from the rank).

>>> weight_key("StatefulPartitionedCall/m/aspp/conv1_2/BiasAdd/ReadVariableOp", 1)
'aspp/conv1_2/bias'
>>> weight_key("decoder/conv1/kernel/read/_7__cf__7", 4)
'decoder/conv1/kernel'
>>> weight_key("concat/axis", 0) is None
True
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np

from saliency_cam.export.weights import WeightMap, check_weights
from saliency_cam.models.architecture import SCOPES
from saliency_cam.models.errors import WeightsError

_SCOPE_PARTS: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (scope, tuple(scope.split("/"))) for scope in SCOPES
)
_BIAS = re.compile(r"^(bias(es)?|b|BiasAdd.*|.*bn_offset.*|.*_bias)$", re.IGNORECASE)
_KERNEL = re.compile(r"^(kernel|weights?|w|filters?|Conv2D.*|convolution.*)$", re.IGNORECASE)
#: A name that ends like a variable but sits under no known scope is reported as extra.
_LOOKS_LIKE_WEIGHT = re.compile(r"(^|/)(kernel|bias|weights|biases)(/read)?$")


@dataclass(frozen=True)
class Candidate:
    """One floating-point tensor found in a published file.

    ``load`` decodes it only when needed (files hold many unrelated constants).
    """

    name: str
    shape: tuple[int, ...]
    load: Callable[[], np.ndarray]


def _components(name: str) -> list[str]:
    # Keras layer names spell the scope separator "__"; graph names may carry ":0".
    return [part for part in name.split(":")[0].replace("__", "/").split("/") if part]


def find_scope(name: str) -> tuple[str, list[str]] | None:
    """The MSI-Net scope inside ``name`` and the components after it, or None.

    When several scopes occur (never in published files) the rightmost, i.e. the
    innermost, wins.
    """
    parts = _components(name)
    best: tuple[int, str] | None = None
    for scope, scope_parts in _SCOPE_PARTS:
        n = len(scope_parts)
        for start in range(len(parts) - n, -1, -1):
            if tuple(parts[start : start + n]) == scope_parts:
                if best is None or start + n > best[0]:
                    best = (start + n, scope)
                break
    if best is None:
        return None
    end, scope = best
    return scope, parts[end:]


def weight_key(name: str, rank: int) -> str | None:
    """``"<scope>/kernel"`` or ``"<scope>/bias"`` for a tensor called ``name`` of rank
    ``rank``, or None when it is not an MSI-Net weight."""
    found = find_scope(name)
    if found is None:
        return None
    scope, rest = found
    if rest:
        head = rest[0]
        if _BIAS.match(head):
            return f"{scope}/bias"
        if _KERNEL.match(head):
            return f"{scope}/kernel"
        return None
    # Nothing after the scope: only the rank can tell.
    return {4: f"{scope}/kernel", 1: f"{scope}/bias"}.get(rank)


def assign_weights(candidates: Iterable[Candidate], origin: str) -> WeightMap:
    """Map published tensors to MSI-Net's weight names and check the result.

    Raises one :class:`WeightsError` when two different tensors claim the same weight,
    or (via :func:`check_weights`) when anything is missing, extra or mis-shaped;
    the message then also lists tensors under a known scope that were not recognised.
    """
    found: dict[str, np.ndarray] = {}
    source_name: dict[str, str] = {}
    unrecognised: list[str] = []
    for cand in candidates:
        key = weight_key(cand.name, len(cand.shape))
        if key is None:
            if find_scope(cand.name) is not None:
                unrecognised.append(cand.name)
                continue
            if _LOOKS_LIKE_WEIGHT.search(cand.name.split(":")[0]):
                key = cand.name  # reported as unexpected by check_weights
            else:
                continue  # an unrelated constant (mean, axes, sizes)
        value = cand.load()
        if key in found:
            if found[key].shape == value.shape and np.array_equal(found[key], value):
                continue  # the same constant in two traced copies of a function
            raise WeightsError(
                f"{origin}: {source_name[key]!r} and {cand.name!r} both look like {key} "
                "but differ: this file holds more than one MSI-Net"
            )
        found[key] = value
        source_name[key] = cand.name
    try:
        return check_weights(found, origin)
    except WeightsError as exc:
        if unrecognised:
            raise WeightsError(
                f"{exc} (not recognised: {', '.join(sorted(unrecognised)[:4])})"
            ) from None
        raise
