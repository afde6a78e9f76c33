"""The defaults every door uses: CLI commands, the Python API, ``serve``, batch workers
and Ray tasks all read them from here, so the same picture gives the same model, the
same map and the same speed whichever way it came in.

- quality ``medium`` (120×160): real time on every CPU kind measured, for live use as
  for files; pass ``--quality``/``quality=`` for more.
- precision ``auto``: the fastest exported variant that passed its fidelity check
  (int8 on CPU when exported, fp16 on GPU, else fp32).
- backend ``auto``: the fastest installed backend for that variant, measured once per
  machine and cached.

The environment variables ``SALIENCY_CAM_PRECISION`` and ``SALIENCY_CAM_BACKEND`` change
the last two for every door at once (for example ``SALIENCY_CAM_BACKEND=onnxruntime``
on a machine where reproducible maps matter more than speed).

>>> DEFAULT_QUALITY
'medium'
>>> default_backend(env={})
'auto'
>>> default_precision(env={"SALIENCY_CAM_PRECISION": "fp32"})
'fp32'
"""

from __future__ import annotations

import os
from collections.abc import Mapping

DEFAULT_QUALITY = "medium"
DEFAULT_DEVICE = "auto"
PRECISION_ENV = "SALIENCY_CAM_PRECISION"
BACKEND_ENV = "SALIENCY_CAM_BACKEND"


def default_precision(env: Mapping[str, str] | None = None) -> str:
    """``auto``, or what ``SALIENCY_CAM_PRECISION`` says."""
    values = os.environ if env is None else env
    return values.get(PRECISION_ENV, "").strip() or "auto"


def default_backend(env: Mapping[str, str] | None = None) -> str:
    """``auto``, or what ``SALIENCY_CAM_BACKEND`` says."""
    values = os.environ if env is None else env
    return values.get(BACKEND_ENV, "").strip() or "auto"
