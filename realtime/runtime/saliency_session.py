"""The session object (rembg-style: it owns provider choice, the model's engine and the
pre/post-processing for its model): opening the engine for one variant, then the predict
steps every path shares, :meth:`~SaliencySession.prepare` →
:meth:`~SaliencySession.infer` → :meth:`~SaliencySession.finish`. Sessions are opened
through :func:`~saliency_cam.realtime.runtime.session.open_session`.

>>> session = open_session("medium")                    # doctest: +SKIP
>>> saliency = session.predict(frame_bgr)         # float32 map at the frame's size
"""

from __future__ import annotations

import numpy as np

from saliency_cam.models.errors import InputError, SaliencyCamError
from saliency_cam.models.manifest import VariantInfo, sha256_file
from saliency_cam.realtime.runtime.aspect import aspect_size, check_aspect
from saliency_cam.realtime.runtime.backends import Engine, EngineOptions, check_backend, open_engine
from saliency_cam.realtime.runtime.letterbox import Letterbox
from saliency_cam.realtime.runtime.lookup import is_direct, redo_hint
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers, prepare_gpu
from saliency_cam.realtime.runtime.resolved_model import ResolvedModel


class SaliencySession:
    """One exported variant on one backend, with letterboxing or aspect matching around it.

    The ONNX graph takes uint8 BGR frames ``[N, H, W, 3]`` and returns ``[N, H, W, 1]``
    maps in [0, 1]; all float work happens inside the graph. Graphs exported with
    symbolic height/width (``dynamic``) run each frame at its own aspect (``aspect``:
    ``match``, ``fill`` or ``letterbox``, see ``runtime/aspect.py``); older fixed-size
    files always letterbox. ``threads`` sets the CPU threads (default: one per core);
    ``mode`` is ``latency`` (live) or ``throughput`` (file jobs, batches).
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
        backend: str = "onnxruntime",
        mode: str = "latency",
        aspect: str = "match",
    ) -> None:
        self.variant = variant
        self.size: tuple[int, int] = (variant.height, variant.width)
        if is_direct(variant):
            backend = "onnxruntime" if variant.contract else "opencv"
        self.backend = backend if variant.builtin else check_backend(backend)
        self.aspect = check_aspect(aspect)
        self.device = device
        self.choice = choice or (
            choose_providers(device) if self.backend == "onnxruntime" else choose_providers("cpu")
        )
        #: Set when the backend was picked by ``--backend auto`` (what was measured).
        self.backend_note = ""
        if variant.builtin:
            from saliency_cam.realtime.runtime.backends.classical import ClassicalEngine

            self.gpu_problem = self.fallback_note = ""
            self.engine: Engine = ClassicalEngine(variant.weights["algorithm"])
            self.providers: list[str] = list(self.engine.providers)
            self._finish_open(warmup)
            return
        self._open_file(threads, mode, verify)
        self._finish_open(warmup)

    def _open_file(self, threads: int | None, mode: str, verify: bool) -> None:
        """Open the variant's ONNX file on the session's backend (checksum first), and
        say plainly when a GPU provider was asked for but did not start."""
        variant = self.variant
        path = variant.path
        if verify and sha256_file(path) != variant.sha256:
            raise SaliencyCamError(
                f"model file {path} does not match its manifest checksum (damaged or replaced): "
                f"{redo_hint(variant)}"
            )
        #: One line to show before a slow first run (TensorRT builds its engines).
        self.gpu_problem = prepare_gpu(self.choice) if self.backend == "onnxruntime" else ""
        if self.gpu_problem and self.choice.explicit:
            raise SaliencyCamError(f"--device {self.choice.device}: {self.gpu_problem}")
        options = EngineOptions(threads=threads, mode=mode, precision=variant.precision)
        self.engine = self._open_engine(options)
        self.providers = list(self.engine.providers)
        #: Set when a GPU provider was asked for but onnxruntime started without it.
        self.fallback_note = ""
        if (
            self.backend == "onnxruntime"
            and self.choice.is_gpu
            and (self.providers[0] != self.choice.primary)
        ):
            # onnxruntime only warns when a provider's libraries are missing; say it plainly
            problem = (
                f"{self.choice.primary} did not start ("
                + (
                    self.gpu_problem
                    or "GPU libraries missing or not matching this onnxruntime build?"
                )
                + f"): running on {self.providers[0]}"
            )
            if self.choice.explicit:
                raise SaliencyCamError(
                    f"--device {self.choice.device}: {problem}; "
                    "fix the CUDA/cuDNN/TensorRT install or use --device auto"
                )
            self.fallback_note = problem

    def _open_engine(self, options: EngineOptions) -> Engine:
        """The engine for the variant's file: an added model under its contract, else
        the session's backend; load failures become one :class:`SaliencyCamError`."""
        variant = self.variant
        path = variant.path
        try:
            if variant.contract:
                from saliency_cam.models.contract import Contract
                from saliency_cam.realtime.runtime.backends.added import AddedModelEngine

                contract = Contract.from_json(variant.contract)
                return AddedModelEngine(path, contract, self.choice, options)
            return open_engine(
                self.backend,
                path,
                self.choice,
                options,
                device=self.device,
                model_sha=variant.sha256,
            )
        except SaliencyCamError as exc:
            if variant.contract:  # the message names the mismatch, not the model
                raise SaliencyCamError(f"model {variant.preset}: {exc}") from exc
            raise
        except Exception as exc:  # onnxruntime/OpenVINO raise their own untyped errors
            raise SaliencyCamError(
                f"cannot load model {path} ({str(exc).splitlines()[0][:200]}): {redo_hint(variant)}"
            ) from exc

    def _finish_open(self, warmup: int) -> None:
        """What every engine needs once open: its shape facts, the cache, the warm-up."""
        #: True when the graph takes several frames per run (a symbolic batch dimension).
        self.batchable = self.engine.batchable
        #: True when the graph takes any height/width (multiples of 8).
        self.dynamic = self.engine.dynamic
        self._letterboxes: dict[tuple[int, int], Letterbox] = {}
        for _ in range(warmup):
            self.infer(np.full((*self.size, 3), 126, np.uint8))

    @property
    def trained(self) -> bool:
        """False for seeded random weights (tests and speed only)."""
        return self.variant.trained

    @property
    def resolved(self) -> ResolvedModel:
        """What this session runs, as one value (see :class:`ResolvedModel`)."""
        return ResolvedModel.of(self)

    @property
    def note(self) -> str:
        """What made an output, stored in its metadata (says UNTRAINED for random weights)."""
        return self.variant.output_note()

    def describe(self) -> dict[str, object]:
        """What this session runs, for reports and result metadata."""
        return {
            **self.variant.describe(),
            "backend": self.backend,
            "backend_note": self.backend_note,
            "provider": self.providers[0] if self.providers else None,
            "aspect": self.aspect if self.dynamic else "letterbox (fixed-size model)",
            # what the engine decided while running (CUDA graphs per shape), if anything
            "engine_note": getattr(self.engine, "note", ""),
        }

    def input_size_for(self, frame_shape: tuple[int, ...]) -> tuple[int, int]:
        """The network input (H, W) used for frames of this shape."""
        if not self.dynamic:
            return self.size
        return aspect_size((int(frame_shape[0]), int(frame_shape[1])), self.size, self.aspect)

    def letterbox_for(self, frame_shape: tuple[int, ...]) -> Letterbox:
        """Cached geometry (aspect-matched input size, or the preset's) for frames of this
        height and width."""
        key = (int(frame_shape[0]), int(frame_shape[1]))
        box = self._letterboxes.get(key)
        if box is None:
            box = self._letterboxes[key] = Letterbox.fit(key, self.input_size_for(key))
        return box

    def _check_input(self, shape: tuple[int, ...]) -> None:
        h, w = shape[-3], shape[-2]
        ok = (h, w) == self.size or (self.dynamic and h % 8 == 0 and w % 8 == 0 and h and w)
        if not ok or shape[-1] != 3:
            want = "multiples of 8" if self.dynamic else f"{self.size}"
            raise ValueError(f"expected uint8 (H, W, 3) input of size {want}, got {shape}")

    def infer(self, network_input: np.ndarray) -> np.ndarray:
        """Run the network on a uint8 BGR image at the preset size (or, for a dynamic
        model, any multiples of 8) (H, W, 3); return the (H, W) float32 map in [0, 1]."""
        if network_input.ndim != 3 or network_input.dtype != np.uint8:
            raise ValueError(
                f"expected uint8 (H, W, 3), got {network_input.dtype} {network_input.shape}"
            )
        self._check_input(network_input.shape)
        batch = np.ascontiguousarray(network_input)[None]
        return self._finite(self.engine.run(batch))[0, :, :, 0]

    def _finite(self, maps: np.ndarray) -> np.ndarray:
        """``maps`` if every value is finite; a NaN/inf map (a broken or mis-declared
        model) would otherwise be drawn, written and put into JSON as ``NaN``."""
        if not np.isfinite(maps).all():
            raise SaliencyCamError(
                f"model {self.variant.preset} produced NaN or infinite values: the model file "
                "is broken or its input contract is wrong (not a problem of the picture)"
            )
        return maps

    def infer_batch(self, network_inputs: np.ndarray) -> np.ndarray:
        """:meth:`infer` for a stack (N, H, W, 3) of same-size uint8 BGR inputs; returns
        (N, H, W) maps. One run when the model has a batch dimension, else one per frame."""
        if network_inputs.ndim != 4:
            raise ValueError(f"expected (N, H, W, 3), got {network_inputs.shape}")
        self._check_input(network_inputs.shape)
        if not self.batchable:
            return np.stack([self.infer(item) for item in network_inputs])
        batch = np.ascontiguousarray(network_inputs, dtype=np.uint8)
        return self._finite(self.engine.run(batch))[..., 0]

    def prepare(self, frame: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """Step 1 of :meth:`predict`: the network input for a frame of any size (BGR
        uint8, aspect-matched or letterboxed) and the geometry that undoes it. Every
        path that runs the network (live quality switching, the server's batcher, file
        jobs) goes through :meth:`prepare` → :meth:`infer`/:meth:`infer_batch` →
        :meth:`finish`, so they all give :meth:`predict`'s map."""
        frame = as_bgr_uint8(frame)
        box = self.letterbox_for(frame.shape)
        return box.apply(frame), box

    @staticmethod
    def finish(raw: np.ndarray, box: Letterbox) -> np.ndarray:
        """Step 3 of :meth:`predict`: the network's map back at the frame's size."""
        return box.undo(raw)

    def predict(self, frame: np.ndarray) -> np.ndarray:
        """Saliency of a BGR uint8 frame of any size, returned at the frame's size."""
        saliency, box = self.predict_raw(frame)
        return self.finish(saliency, box)

    def predict_raw(self, frame: np.ndarray) -> tuple[np.ndarray, Letterbox]:
        """:meth:`predict` in two halves: the map at the network's input size (small:
        what the split ``reframe`` stores per frame) and the geometry whose
        :meth:`Letterbox.undo` gives exactly :meth:`predict`'s map."""
        network_input, box = self.prepare(frame)
        return self.infer(network_input), box

    def predict_batch(self, frames: list[np.ndarray]) -> list[np.ndarray]:
        """:meth:`predict` for several frames, one run per network input size where the
        model batches (file jobs: order matters, latency does not). Frames of different
        sizes may share a run when their aspect gives the same input (a 4000×3000 photo
        and a 640×480 one); the maps come back in the frames' order, each at its size."""
        images = [as_bgr_uint8(frame) for frame in frames]
        boxes = [self.letterbox_for(image.shape) for image in images]
        groups: dict[tuple[int, int], list[int]] = {}
        for index, box in enumerate(boxes):
            groups.setdefault(box.target, []).append(index)
        maps: list[np.ndarray | None] = [None] * len(images)
        for members in groups.values():
            stack = np.stack([boxes[i].apply(images[i]) for i in members])
            for i, item in zip(members, self.infer_batch(stack), strict=True):
                maps[i] = boxes[i].undo(item)
        return maps  # type: ignore[return-value]  # every index was filled


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
