"""Opening a session: :func:`open_session` is the one way every command and API call
opens a model (name → variant, provider choice, backend and precision, ``auto`` measured
or picked), and :func:`auto_batch` says how many frames a file job runs at once.

The session itself is :class:`~saliency_cam.realtime.runtime.saliency_session.SaliencySession`
(``saliency_session.py``); which variant a name means is ``lookup.py``; the record of
what a session runs is ``resolved_model.py``. Their public names are importable from here
too, as they always were.

>>> session = open_session("medium")                    # doctest: +SKIP
>>> saliency = session.predict(frame_bgr)         # float32 map at the frame's size
"""

from __future__ import annotations

import os
from collections.abc import Callable

from saliency_cam.models.errors import ModelNotFoundError, SaliencyCamError
from saliency_cam.models.manifest import VariantInfo
from saliency_cam.models.registry import resolve_preset
from saliency_cam.realtime.runtime.backends import check_backend
from saliency_cam.realtime.runtime.defaults import (
    DEFAULT_DEVICE,
    DEFAULT_QUALITY,
    default_backend,
    default_precision,
)
from saliency_cam.realtime.runtime.lookup import (
    baseline_variant,
    direct_variant,
    export_hint,
    find_variant,
)
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers
from saliency_cam.realtime.runtime.resolved_model import ResolvedModel
from saliency_cam.realtime.runtime.saliency_session import SaliencySession, as_bgr_uint8

# the session's public names, wherever they are defined (the CLI, the API and tests
# import them here)
__all__ = [
    "AUTO_BATCH",
    "MissingModelHook",
    "ResolvedModel",
    "SaliencySession",
    "as_bgr_uint8",
    "auto_batch",
    "baseline_variant",
    "export_hint",
    "find_variant",
    "open_session",
]

#: Called as ``on_missing(preset, precision)`` when a variant is not exported; it may
#: export it (the CLI passes the exporter in: the runtime never imports ``export``).
MissingModelHook = Callable[[str, str], None]


def open_session(
    quality: str | None = None,
    precision: str | None = None,
    device: str = DEFAULT_DEVICE,
    models_dir: str | os.PathLike[str] | None = None,
    *,
    threads: int | None = None,
    verify: bool = True,
    warmup: int = 1,
    choice: ProviderChoice | None = None,
    on_missing: MissingModelHook | None = None,
    backend: str | None = None,
    mode: str = "latency",
    aspect: str = "match",
    remeasure: bool = False,
) -> SaliencySession:
    """Open an exported variant: the one way every command and API call opens a model.

    ``quality`` is a quality (``very_low`` … ``very_high``), a dataset preset
    (``salicon``, ``mit1003``, …) or a user model trained with ``saliency-cam train``.
    Left out (None), ``quality``, ``precision`` and ``backend`` take the defaults every
    door shares (``runtime/defaults.py``: medium, auto, auto).
    ``precision="auto"`` picks the fastest exported variant that passed its fidelity
    check for the device the providers resolve to
    (int8 on CPU, fp16 on GPU, else fp32). ``backend`` is ``onnxruntime``, ``openvino``
    (the openvino extra; ``device`` then takes OpenVINO names: CPU, GPU, GPU.1, NPU) or
    ``auto`` (the fastest installed backend × precision, measured once per machine and
    cached; ``remeasure`` measures again). ``mode``: ``latency`` (live) or
    ``throughput`` (file jobs). ``aspect``: ``match`` (default), ``fill`` or
    ``letterbox`` (see ``runtime/aspect.py``). A missing variant raises
    :class:`ModelNotFoundError` naming the export command, unless ``on_missing`` exports
    it first.

    >>> session = open_session("medium", device="cpu")         # doctest: +SKIP
    >>> saliency = session.predict(frame_bgr)                   # doctest: +SKIP
    """
    from saliency_cam.realtime.runtime.precision import check_precision

    # None = the defaults every door shares (runtime/defaults.py)
    quality = quality or DEFAULT_QUALITY
    precision = check_precision(precision or default_precision())
    direct = direct_variant(quality, precision, models_dir)
    if direct is not None:
        # classical and added models run one way: nothing to choose or export
        return SaliencySession(
            direct,
            device,
            threads=threads,
            verify=verify,
            warmup=warmup,
            choice=choice,
            mode=mode,
            aspect=aspect,
        )
    choice, backend = _provider_choice(device, check_backend(backend or default_backend()), choice)

    def opened(name: str, chosen: str, warm: int = warmup) -> SaliencySession:
        return SaliencySession(
            _variant_or_export(quality, chosen, models_dir, on_missing),
            device,
            threads=threads,
            verify=verify,
            warmup=warm,
            choice=choice if name == "onnxruntime" else None,
            backend=name,
            mode=mode,
            aspect=aspect,
        )

    note = ""
    if backend == "auto":
        from saliency_cam.realtime.runtime.autoselect import choose_backend

        pick = choose_backend(
            quality,
            precision,
            device,
            choice,
            models_dir,
            lambda name, chosen: opened(name, chosen, 1),
            threads=threads,
            remeasure=remeasure,
        )
        backend, precision, note = pick.backend, pick.precision, pick.note
    elif precision == "auto":
        precision = _auto_precision(quality, backend, choice, models_dir)
    session = opened(backend, precision)
    session.backend_note = note
    return session


def _provider_choice(
    device: str, backend: str, choice: ProviderChoice | None
) -> tuple[ProviderChoice, str]:
    """The onnxruntime providers for ``device`` (``choice`` when given) and the backend:
    under ``auto``, an OpenVINO device name (GPU.1, NPU) hands the choice to OpenVINO."""
    ort_device = device if backend != "openvino" else "cpu"
    if choice is None:
        try:
            choice = choose_providers(ort_device)
        except SaliencyCamError:
            if backend != "auto":
                raise
            # an OpenVINO device name (GPU.1, NPU) under auto: OpenVINO decides
            choice, backend = choose_providers("cpu"), "openvino"
    return choice, backend


def _variant_or_export(
    quality: str,
    precision: str,
    models_dir: str | os.PathLike[str] | None,
    on_missing: MissingModelHook | None,
) -> VariantInfo:
    """The exported variant, exported first by ``on_missing`` when it is missing."""
    try:
        return find_variant(quality, precision, models_dir)
    except ModelNotFoundError:
        if on_missing is None:
            raise
        on_missing(resolve_preset(quality, models_dir).name, precision)
        return find_variant(quality, precision, models_dir)


def _auto_precision(
    quality: str, backend: str, choice: ProviderChoice, models_dir: str | os.PathLike[str] | None
) -> str:
    """``--precision auto`` on one backend: the fastest variant that passed its check."""
    from saliency_cam.realtime.runtime.precision import pick_precision

    if backend == "openvino":
        from saliency_cam.realtime.runtime.autoselect import candidates

        return candidates(quality, "auto", choice, models_dir, ["openvino"])[0][1]
    return pick_precision(quality, choice, models_dir)


#: ``--batch auto`` per backend/device, from measurements: GPUs fill their units with
#: several frames (H100: 1.8-5.5x at 8, results/gpu_h100_check.md); OpenVINO keeps one
#: request per frame in flight on its CPU streams (1.56x at 4, 1.45x at 8); onnxruntime
#: on the CPU gained 1.09x at 4 and 1.62x at 8 (results/batch_cpu.json, loaded 2-core AVX2).
AUTO_BATCH = {"gpu": 8, "openvino": 4, "cpu": 8}


def auto_batch(session: SaliencySession) -> int:
    """Frames per inference for file jobs on ``session`` (1 when the model cannot batch)."""
    if not session.batchable:
        return 1
    if session.backend == "openvino":
        return AUTO_BATCH["openvino"]
    gpu = session.choice.is_gpu and session.providers[0] == session.choice.primary
    return AUTO_BATCH["gpu" if gpu else "cpu"]
