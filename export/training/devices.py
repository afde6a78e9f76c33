"""Where a training run computes: the distribution strategy (MirroredStrategy over
several GPUs) and the mixed-precision policy (float16 compute on GPUs only).

The choices are plain functions of a device list, so their logic is tested on CPU.

>>> choose_strategy(["/gpu:0", "/gpu:1"])
'mirrored'
>>> choose_strategy(["/gpu:0"])
'default'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from saliency_cam.models.errors import SaliencyCamError

MIXED_POLICY = "mixed_float16"


def choose_strategy(devices: Sequence[str]) -> str:
    """``"mirrored"`` (one model replica per device, gradients all-reduced) when more
    than one device (GPU) is given, else ``"default"`` (one device, no distribution)."""
    return "mirrored" if len(devices) > 1 else "default"


def visible_gpus() -> list[str]:
    """The GPUs TensorFlow sees, as device names (``/gpu:0`` ...)."""
    import tensorflow as tf

    return [f"/gpu:{i}" for i, _ in enumerate(tf.config.list_physical_devices("GPU"))]


def make_strategy(devices: Sequence[str] | None = None) -> Any:
    """A ``tf.distribute`` strategy for ``devices`` (default: the visible GPUs):
    MirroredStrategy over them when there are several, else the default strategy.
    ``devices`` may also name several CPUs (``/cpu:0``, ``/cpu:1``) of a machine whose
    CPU was split into logical devices: how the tests run the distributed step."""
    import tensorflow as tf

    names = list(visible_gpus() if devices is None else devices)
    if choose_strategy(names) == "mirrored":
        return tf.distribute.MirroredStrategy(names)
    return tf.distribute.get_strategy()


def mixed_precision_policy(enabled: bool, gpus: Sequence[str]) -> str:
    """The Keras dtype policy for a run: ``mixed_float16`` when asked for and a GPU is
    there, ``float32`` when not asked. Asked for without a GPU: refused, because the
    CPUs here compute float16 no faster than float32 (no AVX-512 FP16) and only the
    rounding would change."""
    if not enabled:
        return "float32"
    if not gpus:
        raise SaliencyCamError(
            "--mixed-precision needs a GPU (float16 is no faster on this CPU, "
            "only less exact): drop the option to train in float32"
        )
    return MIXED_POLICY
