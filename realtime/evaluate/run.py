"""``saliency_cam.evaluate``: score a model (or maps already made) against eye-tracking
ground truth from Python, with the same matching, metrics and defaults as
``saliency-cam evaluate``.

>>> from saliency_cam import evaluate
>>> report = evaluate("stimuli/", fixations="fixations/", maps="maps/")   # doctest: +SKIP
>>> len(report.scored), report.metrics                                    # doctest: +SKIP
(300, ('auc_judd', 'auc_borji', 'sauc', 'nss', 'cc', 'sim', 'kld', 'info_gain'))
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path

from saliency_cam.realtime.evaluate.scoring import (
    DEFAULT_STRIP,
    EvaluationReport,
    match_folders,
    model_predictor,
    read_map,
)
from saliency_cam.realtime.evaluate.scoring import (
    evaluate as score,
)
from saliency_cam.realtime.runtime.resolve import cached_session


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
    described = None
    if predictions is not None:
        predict = read_map
    else:
        session = cached_session(
            quality, precision, device, models_dir, model=model, backend=backend
        )
        described = session.describe()
        predict = model_predictor(session)
    return score(
        matching,
        predict,
        metric_names=metrics,
        baseline=baseline,
        seed=seed,
        model=described,
        progress=progress,
    )
