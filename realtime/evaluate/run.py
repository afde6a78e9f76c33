"""``saliency_cam.evaluate``: score a model (or maps already made) against eye-tracking
ground truth from Python, with the same matching, metrics and defaults as
``saliency-cam evaluate``.

Where the scored maps come from is a :class:`MapSource`: a folder of predictions
(:data:`PREDICTIONS`), a session's maps made here (:func:`session_maps`), or maps made
elsewhere (``evaluate --workers``). :func:`score_maps` scores one against a matching;
:func:`evaluate` below and the command's job
(:mod:`saliency_cam.realtime.apps.evaluate_job`) both go through it, so the two doors
read, predict and score the same way.

>>> from saliency_cam import evaluate
>>> report = evaluate("stimuli/", fixations="fixations/", maps="maps/")   # doctest: +SKIP
>>> len(report.scored), report.metrics                                    # doctest: +SKIP
(300, ('auc_judd', 'auc_borji', 'sauc', 'nss', 'cc', 'sim', 'kld', 'info_gain'))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from saliency_cam.realtime.evaluate.matching import Matching
from saliency_cam.realtime.evaluate.scoring import (
    DEFAULT_STRIP,
    EvaluationReport,
    Predictor,
    Progress,
    match_folders,
    model_predictor,
    read_map,
)
from saliency_cam.realtime.evaluate.scoring import (
    evaluate as score,
)
from saliency_cam.realtime.runtime.resolve import cached_session


@dataclass(frozen=True)
class MapSource:
    """Where the scored maps come from: ``predict(stimulus)`` gives each matched item's
    map, ``model`` is the report's model entry (None for maps read from a folder)."""

    predict: Predictor
    model: dict[str, Any] | None = None


#: The maps of a predictions folder (``-p``/``predictions=``), read as they are.
PREDICTIONS = MapSource(read_map)


def session_maps(session: Any) -> MapSource:
    """The maps ``session`` makes here, and its model entry (taken now, right after
    opening, as every report records it)."""
    return MapSource(model_predictor(session), session.describe())


def score_maps(
    matching: Matching,
    source: MapSource,
    *,
    metric_names: Sequence[str] | None = None,
    baseline: str = "center",
    seed: int = 0,
    n_splits: int = 100,
    n_others: int = 10,
    progress: Progress | None = None,
) -> EvaluationReport:
    """Score the maps of ``source`` against the matched ground truth (see
    :func:`saliency_cam.realtime.evaluate.scoring.evaluate`)."""
    return score(
        matching,
        source.predict,
        metric_names=metric_names,
        baseline=baseline,
        seed=seed,
        n_splits=n_splits,
        n_others=n_others,
        model=source.model,
        progress=progress,
    )


def _path(value: str | os.PathLike[str] | None) -> Path | None:
    return None if value is None else Path(value)


def evaluate(
    stimuli: str | os.PathLike[str] | None = None,
    *,
    predictions: str | os.PathLike[str] | None = None,
    fixations: str | os.PathLike[str] | None = None,
    maps: str | os.PathLike[str] | None = None,
    model: object = None,
    quality: str | None = None,
    precision: str | None = None,
    backend: str | None = None,
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    metrics: Sequence[str] | None = None,
    baseline: str = "center",
    seed: int = 0,
    strip: Sequence[str] = DEFAULT_STRIP,
    progress: Callable[[int, int, str], None] | None = None,
) -> EvaluationReport:
    """Run a model on the ``stimuli`` folder (or read ``predictions``, maps made
    elsewhere) and score it against ``fixations`` and/or continuous ``maps``, matched
    by file name. ``model``/``quality`` pick the model as ``predict`` does (left out:
    the defaults every door shares). ``metrics`` names a subset (default: all the
    ground truth allows). Returns the report (``means``, per-image rows, failures).
    """
    matching = match_folders(
        predictions=_path(predictions),
        stimuli=_path(stimuli),
        fixations=_path(fixations),
        maps=_path(maps),
        strip=tuple(strip),
    )
    if predictions is not None:
        source = PREDICTIONS
    else:  # one session per settings in this process (the API's sessions are cached)
        session = cached_session(
            quality, precision, device, models_dir, model=model, backend=backend
        )
        source = session_maps(session)
    return score_maps(
        matching, source, metric_names=metrics, baseline=baseline, seed=seed, progress=progress
    )
