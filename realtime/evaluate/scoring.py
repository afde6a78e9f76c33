"""Score saliency predictions against eye-tracking ground truth (``saliency-cam evaluate``).

Three steps, each usable on its own:

1. :func:`index_folder` + :func:`match` pair files by name (the path relative to its
   folder, without extension) across a predictions (or stimuli) folder and the
   ground-truth folders, and list everything that does not pair up.
2. :func:`evaluate` reads the ground truth, gets each prediction from a ``predict``
   callable (:func:`read_map` for a folder of maps, :func:`model_predictor` to run an
   exported model on the stimuli) and scores it with :mod:`saliency_cam.models.metrics`.
3. :class:`EvaluationReport` aggregates (mean ± std per metric); the report module renders it.

>>> preds = index_folder("preds", MAP_SUFFIXES)                  # doctest: +SKIP
>>> m = match(preds, fixations=index_folder("fix", FIXATION_SUFFIXES))  # doctest: +SKIP
>>> report = evaluate(m, read_map)                               # doctest: +SKIP
>>> report.summary()["nss"].mean                                 # doctest: +SKIP
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models import metrics
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.models.groundtruth import (  # noqa: F401  (re-exported: evaluate's readers)
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


# --------------------------------------------------------------------------- matching


@dataclass(frozen=True)
class Item:
    """One image to score: its prediction (or stimulus) and its ground-truth files."""

    key: str
    source: Path
    fixations: Path | None = None
    saliency_map: Path | None = None


@dataclass
class Matching:
    """Matched items and every file that did not pair up (nothing is silently skipped)."""

    items: list[Item]
    #: ground-truth keys with no prediction / stimulus
    missing_source: list[str] = field(default_factory=list)
    #: prediction / stimulus keys with no ground truth at all
    missing_ground_truth: list[str] = field(default_factory=list)
    #: keys with fixations but no saliency map, or the reverse, when both were given
    incomplete: list[str] = field(default_factory=list)
    #: "key: a.png, a.npy (used a.png)" lines
    duplicates: list[str] = field(default_factory=list)
    #: files skipped for their extension
    ignored: list[str] = field(default_factory=list)


def match(
    sources: FolderIndex,
    fixations: FolderIndex | None = None,
    maps: FolderIndex | None = None,
) -> Matching:
    """Pair ``sources`` (predictions or stimuli) with ground truth by key."""
    if fixations is None and maps is None:
        raise SaliencyCamError("no ground truth: pass --fixations DIR and/or --maps DIR")
    fix_files = fixations.files if fixations else {}
    map_files = maps.files if maps else {}
    truth_keys = set(fix_files) | set(map_files)
    items = [
        Item(key, path, fix_files.get(key), map_files.get(key))
        for key, path in sorted(sources.files.items())
        if key in truth_keys
    ]
    incomplete: list[str] = []
    if fixations is not None and maps is not None:
        incomplete = sorted(set(fix_files) ^ set(map_files))
    duplicates: list[str] = []
    ignored: list[str] = []
    for index in (sources, fixations, maps):
        if index is None:
            continue
        for key, paths in sorted(index.duplicates.items()):
            names = ", ".join(p.name for p in paths)
            duplicates.append(f"{index.folder}/{key}: {names} (used {paths[0].name})")
        ignored.extend(str(p) for p in index.ignored)
    return Matching(
        items=items,
        missing_source=sorted(truth_keys - set(sources.files)),
        missing_ground_truth=sorted(set(sources.files) - truth_keys),
        incomplete=incomplete,
        duplicates=duplicates,
        ignored=ignored,
    )


# --------------------------------------------------------------------------- readers


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


def match_folders(
    *,
    predictions: Path | None = None,
    stimuli: Path | None = None,
    fixations: Path | None = None,
    maps: Path | None = None,
    strip: Sequence[str] = DEFAULT_STRIP,
) -> Matching:
    """Pair the files of ``predictions`` (maps to score) or ``stimuli`` (images to run a
    model on) with ground truth in ``fixations`` and/or ``maps`` by name. Raises
    :class:`SaliencyCamError` with what to do when the folders do not fit together.

    >>> m = match_folders(predictions=Path("preds"), fixations=Path("fix"))  # doctest: +SKIP
    >>> len(m.items)                                                          # doctest: +SKIP
    300
    """
    if (predictions is None) == (stimuli is None):
        raise SaliencyCamError(
            "give exactly one of --predictions DIR (maps to score) or --stimuli DIR "
            "(images to run the model on)"
        )
    if fixations is None and maps is None:
        raise SaliencyCamError("no ground truth: pass --fixations DIR and/or --maps DIR")
    source_dir = predictions if predictions is not None else stimuli
    assert source_dir is not None
    strip = tuple(strip)
    suffixes = MAP_SUFFIXES if predictions is not None else IMAGE_SUFFIXES
    sources = index_folder(source_dir, suffixes, strip)
    fix_index = index_folder(fixations, FIXATION_SUFFIXES, strip) if fixations else None
    map_index = index_folder(maps, MAP_SUFFIXES, strip) if maps else None
    matching = match(sources, fix_index, map_index)
    if not matching.items:
        example = ""
        truth_index = fix_index or map_index
        if sources.files and truth_index is not None:
            truth = next(iter(truth_index.files), None)
            example = f" (e.g. {next(iter(sources.files))!r} vs {truth!r})"
        raise SaliencyCamError(
            f"nothing to evaluate: none of the {len(sources.files)} files in {source_dir} "
            f"matches a ground-truth file by name{example}; names must agree without "
            "extension (use --strip-suffix for endings like _fixMap)"
        )
    return matching
