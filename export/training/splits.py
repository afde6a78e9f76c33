"""Train/validation splits, seeded exactly as the original (docs/design.md §10).

>>> original_split(1003, 803)[0][:3]  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np

from saliency_cam.models.errors import SaliencyCamError

#: Images used for training per dataset in the original (the rest validate). SALICON
#: has its own train/val folders; CAT2000 splits each category of 100 as 80/20.
ORIGINAL_TRAIN_COUNTS: dict[str, int] = {
    "mit1003": 803,
    "cat2000": 1600,
    "dutomron": 4168,
    "pascals": 650,
    "osie": 500,
    "fiwi": 99,
}
SEED = 42


def original_split(count: int, n_train: int) -> tuple[list[int], list[int]]:
    """Indices shuffled by ``np.random.RandomState(42).shuffle(np.arange(count))``; the
    first ``n_train`` train, the rest validate."""
    if not 0 < n_train < count:
        raise SaliencyCamError(
            f"cannot split {count} images into {n_train} for training and the rest for "
            "validation: need at least one of each"
        )
    order = np.arange(count)
    np.random.RandomState(SEED).shuffle(order)
    return sorted(order[:n_train].tolist()), sorted(order[n_train:].tolist())


def category_split(
    categories: list[str], train_fraction: float = 0.8
) -> tuple[list[int], list[int]]:
    """CAT2000's split: inside every category (the images' folder), the same shuffled
    positions — ``RandomState(42).shuffle(arange(per_category))``, first 80 % train."""
    groups: dict[str, list[int]] = {}
    for index, category in enumerate(categories):
        groups.setdefault(category, []).append(index)
    sizes = {len(v) for v in groups.values()}
    if len(sizes) != 1:
        raise SaliencyCamError(
            f"CAT2000 split needs the same number of images in every category, got {sorted(sizes)}"
        )
    (size,) = sizes
    n_train = round(size * train_fraction)
    order = np.arange(size)
    np.random.RandomState(SEED).shuffle(order)
    train = [groups[c][i] for c in sorted(groups) for i in order[:n_train]]
    valid = [groups[c][i] for c in sorted(groups) for i in order[n_train:]]
    return sorted(train), sorted(valid)


def fraction_split(count: int, val_fraction: float) -> tuple[list[int], list[int]]:
    """``--val-split F``: the original's seeded shuffle with ``round(count·F)`` (at least
    one) images for validation."""
    if not 0.0 < val_fraction < 1.0:
        raise SaliencyCamError(f"--val-split must be between 0 and 1, got {val_fraction}")
    n_val = min(count - 1, max(1, round(count * val_fraction)))
    return original_split(count, count - n_val)
