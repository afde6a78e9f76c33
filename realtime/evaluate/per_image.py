"""Step 2 of ``saliency-cam evaluate``, per image and per metric: which metrics the
ground truth allows (:func:`select_metrics`), an image's ground truth kept compact, the
baselines drawn from the *other* images (the shuffled-AUC negatives, the dataset's own
centre bias) and every chosen metric of one prediction (:func:`score_image`, with
:mod:`saliency_cam.models.metrics`).

>>> score_image(pred, ["nss", "cc"], fixations=mask, saliency_map=gt)   # doctest: +SKIP
{'nss': 1.92, 'cc': 0.61}
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from saliency_cam.models import metrics
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.groundtruth import map_shape, read_fixations
from saliency_cam.realtime.evaluate.matching import Item

FIXATION_METRICS = ("auc_judd", "auc_borji", "auc_shuffled", "nss", "info_gain")
MAP_METRICS = ("cc", "sim", "kld", "emd")
#: Every metric, in the order tables show them.
ALL_METRICS = (
    "auc_judd",
    "auc_borji",
    "auc_shuffled",
    "nss",
    "cc",
    "sim",
    "kld",
    "info_gain",
    "emd",
)
LOWER_IS_BETTER = frozenset({"kld", "emd"})
BASELINES = ("center", "uniform", "others")


def select_metrics(
    requested: Sequence[str] | None, *, have_fixations: bool, have_maps: bool
) -> tuple[str, ...]:
    """The metrics to compute: ``requested`` (validated) or all the ground truth allows."""
    from saliency_cam.models.metrics import pot_installed

    if not requested:
        has_pot = pot_installed()  # EMD only when POT is installed
        return tuple(
            m
            for m in ALL_METRICS
            if (m in FIXATION_METRICS and have_fixations)
            or (m in MAP_METRICS and have_maps and (m != "emd" or has_pot))
        )
    chosen: list[str] = []
    for raw in requested:
        name = raw.strip().lower().replace("-", "_")
        name = {"sauc": "auc_shuffled", "ig": "info_gain", "kl": "kld"}.get(name, name)
        if name not in ALL_METRICS:
            raise SaliencyCamError(f"unknown metric {raw!r}: choose from {', '.join(ALL_METRICS)}")
        if name in FIXATION_METRICS and not have_fixations:
            raise SaliencyCamError(f"metric {name} needs fixations: pass --fixations DIR")
        if name in MAP_METRICS and not have_maps:
            raise SaliencyCamError(f"metric {name} needs continuous saliency maps: pass --maps DIR")
        if name == "emd" and not pot_installed():
            from saliency_cam.models.install import install_command

            raise SaliencyCamError("metric emd needs POT: " + install_command("evaluate"))
        if name not in chosen:
            chosen.append(name)
    return tuple(chosen)


@dataclass
class _Truth:
    shape: tuple[int, int]
    rows: np.ndarray | None = None  # fixated pixels, kept compact for the sAUC pool
    cols: np.ndarray | None = None

    def mask(self) -> np.ndarray | None:
        if self.rows is None or self.cols is None:
            return None
        out = np.zeros(self.shape, dtype=bool)
        out[self.rows, self.cols] = True
        return out


def _load_truth(item: Item) -> _Truth:
    shape = map_shape(item.saliency_map) if item.saliency_map else None
    if item.fixations is None:
        assert shape is not None
        return _Truth(shape)
    fix = read_fixations(item.fixations)
    if shape is None and fix.mask is None and fix.shape is None:
        shape = map_shape(item.source)  # points only: the stimulus / prediction's size
    mask = fix.to_mask(shape, item.fixations)
    rows, cols = np.nonzero(mask)
    return _Truth((int(mask.shape[0]), int(mask.shape[1])), rows, cols)


def _item_seed(seed: int, key: str) -> list[int]:
    # Keyed by name, not position: an image scores the same in any subset of the data.
    return [seed, zlib.crc32(key.encode("utf-8"))]


def _other_map(
    key: str, truths: dict[str, _Truth], shape: tuple[int, int], n_others: int, seed: int
) -> np.ndarray | None:
    """Union of fixations of ``n_others`` random other images, rescaled to ``shape``
    (MIT: "the union of fixations from M other random images, Borji uses M = 10")."""
    pool = [k for k, t in truths.items() if k != key and t.rows is not None and t.rows.size]
    if not pool:
        return None
    rng = np.random.default_rng([*_item_seed(seed, key), len(ALL_METRICS)])
    chosen = rng.choice(len(pool), size=min(n_others, len(pool)), replace=False)
    out = np.zeros(shape, dtype=bool)
    for index in chosen:
        other = truths[pool[index]]
        assert other.rows is not None and other.cols is not None
        # pixel centres, scaled from the other image's size to this one
        points = np.stack([other.cols + 0.5, other.rows + 0.5], axis=1)
        out |= metrics.fixation_map(points, shape, source_shape=other.shape)
    return out


def dataset_center_bias(
    key: str, truths: dict[str, _Truth], shape: tuple[int, int], sigma: float = 0.04
) -> np.ndarray | None:
    """The MIT benchmark's IG baseline, leave-one-out: every *other* image's fixations,
    rescaled to ``shape`` and summed, blurred with a Gaussian of ``sigma`` × the larger
    side (the dataset's own centre bias). None when no other image has fixations."""
    import cv2

    total = np.zeros(shape, np.float64)
    found = False
    for other_key, other in truths.items():
        if other_key == key or other.rows is None or not other.rows.size:
            continue
        assert other.cols is not None
        points = np.stack([other.cols + 0.5, other.rows + 0.5], axis=1)
        total += metrics.fixation_map(points, shape, source_shape=other.shape)
        found = True
    if not found:
        return None
    blur = sigma * max(shape)
    return cv2.GaussianBlur(total, (0, 0), sigmaX=blur, sigmaY=blur) + 1e-12


def score_image(
    pred: np.ndarray,
    chosen: Sequence[str],
    *,
    fixations: np.ndarray | None = None,
    saliency_map: np.ndarray | None = None,
    other_fixations: np.ndarray | None = None,
    baseline: str = "center",
    baseline_map: np.ndarray | None = None,
    seed: int | Sequence[int] = 0,
    n_splits: int = 100,
) -> dict[str, float]:
    """All ``chosen`` metrics of one prediction; NaN where the ground truth is missing.

    Each randomised metric draws from its own stream of ``seed``, so a score does not
    change with the set of metrics requested.
    """
    entropy = [seed] if isinstance(seed, int) else list(seed)
    reference = saliency_map if saliency_map is not None else fixations
    if reference is not None:  # resize once here rather than once per metric
        pred = metrics.resize_to(pred, reference.shape[:2])
    out: dict[str, float] = {}
    for name in chosen:
        rng = np.random.default_rng([*entropy, ALL_METRICS.index(name)])
        out[name] = math.nan
        if name in MAP_METRICS:
            if saliency_map is not None:
                out[name] = getattr(metrics, name)(pred, saliency_map)
        elif fixations is None:
            continue
        elif name == "auc_judd":
            out[name] = metrics.auc_judd(pred, fixations, seed=rng)
        elif name == "auc_borji":
            out[name] = metrics.auc_borji(pred, fixations, n_splits=n_splits, seed=rng)
        elif name == "auc_shuffled" and other_fixations is not None:
            out[name] = metrics.auc_shuffled(
                pred, fixations, other_fixations, n_splits=n_splits, seed=rng
            )
        elif name == "nss":
            out[name] = metrics.nss(pred, fixations)
        elif name == "info_gain":
            shape = fixations.shape
            if baseline_map is not None:  # "others": the dataset's own centre bias
                base = baseline_map
            elif baseline == "center":
                base = metrics.center_bias_map(shape)
            else:
                base = metrics.uniform_map(shape)
            out[name] = metrics.information_gain(pred, fixations, base)
    return out
