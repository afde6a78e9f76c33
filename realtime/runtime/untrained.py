"""How a map from seeded random (UNTRAINED) weights stays labelled in the Python API,
as the command line labels it: a warning when it is made, and a marked array type that
:func:`saliency_cam.render` recognises and stamps with the UNTRAINED line in its pixels.

>>> saliency = predict("photo.jpg", "very_low")   # doctest: +SKIP
UntrainedModelWarning: very_low fp32 has UNTRAINED random weights: ...
>>> isinstance(saliency, UntrainedMap)            # doctest: +SKIP
True
"""

from __future__ import annotations

import warnings

import numpy as np


class UntrainedModelWarning(UserWarning):
    """A map was made by a model with seeded random weights (tests and speed only)."""


class UntrainedMap(np.ndarray):
    """A saliency map made by an UNTRAINED model: a plain float32 array in every other
    respect (NumPy keeps the type through slicing and arithmetic; OpenCV returns plain
    arrays, so a map passed through cv2 loses the mark)."""


def label_untrained(
    saliency: np.ndarray, model: str, fix: str, stacklevel: int = 3
) -> UntrainedMap:
    """``saliency`` marked as UNTRAINED (a view, no copy), with a warning naming
    ``model`` and the command ``fix`` that exports trained weights; the warning points
    at the caller's caller (``stacklevel``)."""
    warnings.warn(
        f"{model} has UNTRAINED random weights: its maps mean nothing (tests and speed "
        f"only); for real saliency run '{fix} --force'",
        UntrainedModelWarning,
        stacklevel=stacklevel,
    )
    return saliency.view(UntrainedMap)
