"""One onnxruntime session for one exported MSI-Net variant (rembg-style: the session
object owns provider choice, model lookup and the pre/post-processing for its model).

>>> session = open_session("medium")                    # doctest: +SKIP
>>> saliency = session.predict(frame_bgr)         # float32 map at the frame's size
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np

from saliency_cam.models.errors import InputError, ModelNotFoundError, SaliencyCamError
from saliency_cam.models.manifest import Manifest, VariantInfo, sha256_file
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import resolve_preset
from saliency_cam.realtime.runtime.letterbox import Letterbox
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers


def export_hint(preset: str, precision: str = "fp32") -> str:
    """The command that exports a missing variant."""
    extra = "" if precision == "fp32" else f" --precision {precision}"
    return f"saliency-cam export --quality {preset}{extra}"


def find_variant(
    preset: str, precision: str = "fp32", models_dir: str | os.PathLike[str] | None = None
) -> VariantInfo:
    """The manifest entry for ``preset``/``precision``, or a clear error naming the
    export command to run."""
    directory = resolve_models_dir(models_dir)
    name = resolve_preset(preset, directory).name
    info = Manifest.load(directory).find(name, precision)
    if info is None or not info.path.exists():
        raise ModelNotFoundError(
            f"no {name} {precision} model in {directory}: run '{export_hint(name, precision)}' "
            "(needs the export extra: pip install 'saliency-cam[export]')"
        )
    return info


class SaliencySession:
    """An onnxruntime session for one variant, with letterboxing around it.

    The ONNX graph takes a uint8 BGR frame [1, H, W, 3] at the preset size and returns
    the [1, H, W, 1] map in [0, 1]; all float work happens inside the graph.
    ``threads`` sets onnxruntime's intra-op threads (default: one per core).
    """

    def __init__(
        self,
        variant: VariantInfo,
        device: str = "auto",
        *,
        threads: int | None = None,
        verify: bool = True,
        warmup: int = 1,
        choice: ProviderChoice | None = None,
    ) -> None:
        import onnxruntime as ort

        self.variant = variant
        self.size: tuple[int, int] = (variant.height, variant.width)
        self.choice = choice or choose_providers(device)
        path = variant.path
        if verify and sha256_file(path) != variant.sha256:
            raise SaliencyCamError(
                f"model file {path} does not match its manifest checksum (damaged or replaced): "
                f"run '{export_hint(variant.preset, variant.precision)} --force'"
            )
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        if threads:
            options.intra_op_num_threads = threads
        # One frame at a time: parallelism belongs inside ops, not across them.
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        try:
            self._session = ort.InferenceSession(
                str(path), sess_options=options, providers=self.choice.providers
            )
        except Exception as exc:  # onnxruntime raises its own untyped errors
            raise SaliencyCamError(
                f"cannot load model {path} ({str(exc).splitlines()[0][:200]}): "
                f"run '{export_hint(variant.preset, variant.precision)} --force'"
            ) from exc
        self.providers: list[str] = list(self._session.get_providers())
        #: Set when a GPU provider was asked for but onnxruntime started without it.
        self.fallback_note = ""
        if self.choice.is_gpu and self.providers[0] != self.choice.primary:
            # onnxruntime only warns when a provider's libraries are missing; say it plainly
            problem = (
                f"{self.choice.primary} did not start (GPU libraries missing or not matching "
                f"this onnxruntime build?): running on {self.providers[0]}"
            )
            if self.choice.explicit:
                raise SaliencyCamError(
                    f"--device {self.choice.device}: {problem}; "
                    "fix the CUDA/cuDNN/TensorRT install or use --device auto"
                )
            self.fallback_note = problem
        self._input = self._session.get_inputs()[0].name
        batch_dim = self._session.get_inputs()[0].shape[0]
        #: True when the graph takes several frames per run (a symbolic batch dimension).
        self.batchable = not isinstance(batch_dim, int) or batch_dim != 1
        self._output = self._session.get_outputs()[0].name
        self._letterboxes: dict[tuple[int, int], Letterbox] = {}
        for _ in range(warmup):
            self.infer(np.full((*self.size, 3), 126, np.uint8))

    @property
    def trained(self) -> bool:
        """False for seeded random weights (tests and speed only)."""
        return self.variant.trained

    @property
    def note(self) -> str:
        """What made an output, stored in its metadata (says UNTRAINED for random weights)."""
        return f"saliency-cam MSI-Net {self.variant.label()}"

    def describe(self) -> dict[str, object]:
        """What this session runs, for reports and result metadata."""
        variant = self.variant
        return {
            "preset": variant.preset,
            "precision": variant.precision,
            "input": f"{variant.height}x{variant.width}",
            "weights": variant.weights.get("source"),
            "trained": self.trained,
            "provider": self.providers[0] if self.providers else None,
            "sha256": variant.sha256,
        }

    def letterbox_for(self, frame_shape: tuple[int, ...]) -> Letterbox:
        """Cached letterbox geometry for frames of this height and width."""
        key = (int(frame_shape[0]), int(frame_shape[1]))
        box = self._letterboxes.get(key)
        if box is None:
            box = self._letterboxes[key] = Letterbox.fit(key, self.size)
        return box

    def infer(self, network_input: np.ndarray) -> np.ndarray:
        """Run the network on a uint8 BGR image already at the preset size (H, W, 3);
        return the (H, W) float32 map in [0, 1]."""
        if network_input.shape != (*self.size, 3) or network_input.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 {(*self.size, 3)}, got {network_input.dtype} {network_input.shape}"
            )
        batch = np.ascontiguousarray(network_input)[None]
        return self._session.run([self._output], {self._input: batch})[0][0, :, :, 0]

    def infer_batch(self, network_inputs: np.ndarray) -> np.ndarray:
        """:meth:`infer` for a stack (N, H, W, 3) of preset-size uint8 BGR inputs; returns
        (N, H, W) maps. One run when the model has a batch dimension, else one per frame."""
        if network_inputs.ndim != 4 or network_inputs.shape[1:] != (*self.size, 3):
            raise ValueError(
                f"expected (N, {self.size[0]}, {self.size[1]}, 3), got {network_inputs.shape}"
            )
        if not self.batchable:
            return np.stack([self.infer(item) for item in network_inputs])
        batch = np.ascontiguousarray(network_inputs, dtype=np.uint8)
        return self._session.run([self._output], {self._input: batch})[0][..., 0]

    def predict(self, frame: np.ndarray) -> np.ndarray:
        """Saliency of a BGR uint8 frame of any size, returned at the frame's size."""
        frame = as_bgr_uint8(frame)
        box = self.letterbox_for(frame.shape)
        return box.undo(self.infer(box.apply(frame)))


def as_bgr_uint8(image: np.ndarray) -> np.ndarray:
    """Convert grayscale, BGRA and 16-bit images to 3-channel uint8 BGR."""
    import cv2

    if image is None or image.size == 0:
        raise InputError("empty image")
    if image.dtype == np.uint16:
        image = (image / 257.0).round().astype(np.uint8)
    elif image.dtype != np.uint8:
        image = np.clip(image, 0, 255).astype(np.uint8)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    if image.shape[2] == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    return image


#: Called as ``on_missing(preset, precision)`` when a variant is not exported; it may
#: export it (the CLI passes the exporter in: the runtime never imports ``export``).
MissingModelHook = Callable[[str, str], None]


def open_session(
    quality: str = "medium",
    precision: str = "fp32",
    device: str = "auto",
    models_dir: str | os.PathLike[str] | None = None,
    *,
    threads: int | None = None,
    verify: bool = True,
    warmup: int = 1,
    choice: ProviderChoice | None = None,
    on_missing: MissingModelHook | None = None,
) -> SaliencySession:
    """Open an exported variant: the one way every command and API call opens a model.

    ``quality`` is a quality (``very_low`` … ``very_high``), a dataset preset
    (``salicon``, ``mit1003``, …) or a user model trained with ``saliency-cam train``.
    ``precision="auto"`` picks the fastest exported variant that passed its fidelity
    check for the device the providers resolve to
    (int8 on CPU, fp16 on GPU, else fp32). A missing variant raises
    :class:`ModelNotFoundError` naming the export command, unless ``on_missing`` exports
    it first.

    >>> session = open_session("medium", device="cpu")         # doctest: +SKIP
    >>> saliency = session.predict(frame_bgr)                   # doctest: +SKIP
    """
    choice = choice or choose_providers(device)
    if precision.strip().lower() == "auto":
        from saliency_cam.realtime.runtime.precision import pick_precision

        precision = pick_precision(quality, choice, models_dir)
    else:
        from saliency_cam.realtime.runtime.precision import check_precision

        precision = check_precision(precision)
    try:
        variant = find_variant(quality, precision, models_dir)
    except ModelNotFoundError:
        if on_missing is None:
            raise
        on_missing(resolve_preset(quality, models_dir).name, precision)
        variant = find_variant(quality, precision, models_dir)
    return SaliencySession(
        variant, device, threads=threads, verify=verify, warmup=warmup, choice=choice
    )
