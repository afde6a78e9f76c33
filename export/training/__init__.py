"""Training and fine-tuning MSI-Net (``saliency-cam train``; needs the export extra).

One module per job: ``datasets/`` (the seven original datasets' downloaders and the
reader of any data folder), ``density`` (fixations → maps), ``gaze_video`` (eye-tracking
video + gaze CSV → frames and maps), ``splits``, ``pipeline`` (tf.data), ``loss``,
``init`` (VGG16 / published / previous weights), ``trainer`` (the loop, checkpoints,
resume), ``publish`` (export as a named model), ``job`` (:func:`train`, the recipe).

TensorFlow is imported only inside the functions that need it.

>>> from saliency_cam.export.training import train              # doctest: +SKIP
>>> train("./my_study", name="webpages", quality="medium")      # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any


def train(*args: Any, **kwargs: Any):  # -> TrainingOutcome
    """See :func:`saliency_cam.export.training.job.train`."""
    from saliency_cam.export.training.job import train as run

    return run(*args, **kwargs)


__all__ = ["train"]
