"""Score saliency predictions against eye-tracking ground truth (``saliency-cam evaluate``).

Three steps, each usable on its own:

1. :func:`index_folder` + :func:`match` pair files by name (the path relative to its
   folder, without extension) across a predictions (or stimuli) folder and the
   ground-truth folders, and list everything that does not pair up.
2. :func:`evaluate` reads the ground truth, gets each prediction from a ``predict``
   callable (:func:`read_map` for a folder of maps, :func:`model_predictor` to run an
   exported model on the stimuli) and scores it with :mod:`saliency_cam.models.metrics`.
3. :class:`EvaluationReport` aggregates (mean ± std per metric); the report module renders it.

Matching lives in ``matching.py``, the per-image, per-metric scoring in ``per_image.py``;
this module runs the loop over the images and aggregates. Every name above is importable
from here, as it always was.

>>> preds = index_folder("preds", MAP_SUFFIXES)                  # doctest: +SKIP
>>> m = match(preds, fixations=index_folder("fix", FIXATION_SUFFIXES))  # doctest: +SKIP
>>> report = evaluate(m, read_map)                               # doctest: +SKIP
>>> report.summary()["nss"].mean                                 # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.groundtruth import (
    DEFAULT_STRIP,
    FIXATION_SUFFIXES,
    IMAGE_SUFFIXES,
    MAP_SUFFIXES,
    Fixations,
    FolderIndex,
    index_folder,
    map_shape,
    match_key,
    read_fixations,
    read_image,
    read_map,
)
from saliency_cam.realtime.evaluate.matching import Item, Matching, match, match_folders
from saliency_cam.realtime.evaluate.per_image import (
    ALL_METRICS,
    BASELINES,
    FIXATION_METRICS,
    LOWER_IS_BETTER,
    MAP_METRICS,
    _item_seed,
    _load_truth,
    _other_map,
    _Truth,
    dataset_center_bias,
    score_image,
    select_metrics,
)

# scoring's public names, wherever they are defined: the ground-truth readers
# (models/groundtruth.py), matching.py and per_image.py (the CLI, the evaluate job and
# tests import them here)
__all__ = [
    "ALL_METRICS",
    "BASELINES",
    "DEFAULT_STRIP",
    "FIXATION_METRICS",
    "FIXATION_SUFFIXES",
    "IMAGE_SUFFIXES",
    "LOWER_IS_BETTER",
    "MAP_METRICS",
    "MAP_SUFFIXES",
    "EvaluationReport",
    "Fixations",
    "FolderIndex",
    "ImageResult",
    "Item",
    "Matching",
    "MetricSummary",
    "Predictor",
    "Progress",
    "dataset_center_bias",
    "evaluate",
    "index_folder",
    "map_shape",
    "match",
    "match_folders",
    "match_key",
    "model_predictor",
    "read_fixations",
    "read_image",
    "read_map",
    "score_image",
    "select_metrics",
    "stored_predictor",
]


@dataclass
class ImageResult:
    """Scores of one image (NaN where a metric is undefined or its ground truth is absent)."""

    key: str
    scores: dict[str, float]
    height: int = 0
    width: int = 0
    n_fixations: int | None = None
    error: str | None = None


@dataclass(frozen=True)
class MetricSummary:
    """Mean ± sample standard deviation over the images where the metric is defined."""

    mean: float
    std: float
    n: int
    undefined: int


@dataclass
class EvaluationReport:
    """Everything ``saliency-cam evaluate`` shows and writes."""

    results: list[ImageResult]
    matching: Matching
    metrics: tuple[str, ...]
    settings: dict[str, Any]
    #: the model that made the predictions (None for a folder of maps)
    model: dict[str, Any] | None = None

    @property
    def trained(self) -> bool | None:
        """False when the predictions came from an untrained (random-weight) model."""
        return None if self.model is None else bool(self.model.get("trained"))

    @property
    def scored(self) -> list[ImageResult]:
        return [r for r in self.results if r.error is None]

    @property
    def failed(self) -> list[ImageResult]:
        return [r for r in self.results if r.error is not None]

    def summary(self) -> dict[str, MetricSummary]:
        """Per metric: mean ± std (N−1) over images where it is defined (NaN ignored)."""
        out: dict[str, MetricSummary] = {}
        for name in self.metrics:
            values = np.array([r.scores.get(name, math.nan) for r in self.scored], dtype=float)
            finite = values[np.isfinite(values)]
            mean = float(finite.mean()) if finite.size else math.nan
            std = float(finite.std(ddof=1)) if finite.size > 1 else math.nan
            out[name] = MetricSummary(mean, std, int(finite.size), int(values.size - finite.size))
        return out


Predictor = Callable[[Path], np.ndarray]
Progress = Callable[[int, int, str], None]


def evaluate(
    matching: Matching,
    predict: Predictor,
    *,
    metric_names: Sequence[str] | None = None,
    baseline: str = "center",
    seed: int = 0,
    n_splits: int = 100,
    n_others: int = 10,
    model: dict[str, Any] | None = None,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Score every matched item. ``predict(item.source)`` returns the prediction map.

    Unreadable files and unscorable maps become per-image errors (listed, not raised);
    ``progress(done, total, key)`` is called after each image.
    """
    if baseline not in BASELINES:
        raise SaliencyCamError(f"unknown baseline {baseline!r}: choose {', '.join(BASELINES)}")
    items = matching.items
    chosen = select_metrics(
        metric_names,
        have_fixations=any(i.fixations for i in items),
        have_maps=any(i.saliency_map for i in items),
    )
    settings = {
        "seed": seed,
        "baseline": baseline,
        "auc_splits": n_splits,
        "shuffled_auc_other_images": n_others,
    }
    results: dict[str, ImageResult] = {}
    truths: dict[str, _Truth] = {}
    # Pass 1: all fixations (small), so shuffled AUC can draw from other images.
    for item in items:
        try:
            truths[item.key] = _load_truth(item)
        except SaliencyCamError as exc:
            results[item.key] = ImageResult(item.key, {}, error=str(exc))
    total = len(items)
    for done, item in enumerate(items, start=1):
        truth = truths.get(item.key)
        if truth is not None:
            results[item.key] = _score_item(
                item, truth, truths, predict, chosen, baseline, seed, n_splits, n_others
            )
        if progress is not None:
            progress(done, total, item.key)
    return EvaluationReport(
        results=[results[i.key] for i in items],
        matching=matching,
        metrics=chosen,
        settings=settings,
        model=model,
    )


def _score_item(
    item: Item,
    truth: _Truth,
    truths: dict[str, _Truth],
    predict: Predictor,
    chosen: Sequence[str],
    baseline: str,
    seed: int,
    n_splits: int,
    n_others: int,
) -> ImageResult:
    height, width = truth.shape
    fixations = truth.mask()
    n_fix = None if truth.rows is None else int(truth.rows.size)
    try:
        gt_map = read_map(item.saliency_map) if item.saliency_map else None
        pred = predict(item.source)
        other = None
        if fixations is not None and "auc_shuffled" in chosen:
            other = _other_map(item.key, truths, truth.shape, n_others, seed)
        base = None
        if fixations is not None and "info_gain" in chosen and baseline == "others":
            base = dataset_center_bias(item.key, truths, truth.shape)
        scores = score_image(
            pred,
            chosen,
            fixations=fixations,
            saliency_map=gt_map,
            other_fixations=other,
            baseline=baseline,
            baseline_map=base,
            seed=_item_seed(seed, item.key),
            n_splits=n_splits,
        )
    except SaliencyCamError as exc:
        return ImageResult(item.key, {}, height, width, n_fix, error=str(exc))
    return ImageResult(item.key, scores, height, width, n_fix)


def model_predictor(session: Any) -> Predictor:
    """A :data:`Predictor` that runs ``session`` (``open_session(...)``) on stimulus files;
    the map comes back at the stimulus's size."""

    def predict(path: Path) -> np.ndarray:
        return session.predict(read_image(path))

    return predict


def stored_predictor(maps: dict[Path, Path], errors: dict[Path, str]) -> Predictor:
    """A :data:`Predictor` for maps computed earlier into files (``evaluate --workers``):
    each source's map is read as ``evaluate -p`` reads a predictions folder
    (:func:`read_map`); a source whose prediction failed raises its error line, so it
    is counted as a failed image exactly where the serial run counts it."""

    def predict(path: Path) -> np.ndarray:
        if path in errors:
            raise SaliencyCamError(errors[path])
        if path not in maps:
            raise SaliencyCamError(f"{path}: no prediction was made")
        return read_map(maps[path])

    return predict
