"""One session for one exported MSI-Net variant on one backend (rembg-style: the session
object owns provider choice, model lookup and the pre/post-processing for its model).

>>> session = open_session("medium")                    # doctest: +SKIP
>>> saliency = session.predict(frame_bgr)         # float32 map at the frame's size
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from saliency_cam.models.errors import InputError, ModelNotFoundError, SaliencyCamError
from saliency_cam.models.install import EXPORT_MODULES, install_command, missing_modules
from saliency_cam.models.manifest import BUILTIN_SOURCE, Manifest, VariantInfo, sha256_file
from saliency_cam.models.paths import models_dir as resolve_models_dir
from saliency_cam.models.registry import Preset, resolve_preset
from saliency_cam.realtime.runtime.aspect import aspect_size, check_aspect
from saliency_cam.realtime.runtime.backends import Engine, EngineOptions, check_backend, open_engine
from saliency_cam.realtime.runtime.defaults import (
    DEFAULT_DEVICE,
    DEFAULT_QUALITY,
    default_backend,
    default_precision,
)
from saliency_cam.realtime.runtime.letterbox import Letterbox
from saliency_cam.realtime.runtime.providers import ProviderChoice, choose_providers, prepare_gpu


def export_hint(
    preset: str, precision: str = "fp32", models_dir: str | os.PathLike[str] | None = None
) -> str:
    """The command that makes a missing variant (a user model's from its stored weights)
    in ``models_dir``: ``--models-dir`` is named unless that is the default folder
    (``$SALIENCY_CAM_MODELS_DIR`` or the user cache), where export writes anyway."""
    extra = "" if precision == "fp32" else f" --precision {precision}"
    if models_dir is not None and Path(models_dir) != resolve_models_dir(None):
        extra += f" --models-dir {_shell_word(str(models_dir))}"
    try:
        kind = resolve_preset(preset, models_dir).kind
    except SaliencyCamError:
        kind = "quality"
    if kind == "user":
        return f"saliency-cam export --model {preset}{extra}"
    option = "--dataset" if kind == "dataset" else "--quality"
    return f"saliency-cam export {option} {preset}{extra}"


def _shell_word(text: str) -> str:
    """``text`` as one shell word, in double quotes where it needs quoting: hints print
    commands inside single quotes (``run '...'``), which shlex's own quotes would end."""
    if shlex.quote(text) == text:
        return text
    return '"' + "".join("\\" + c if c in '"$`\\' else c for c in text) + '"'


def find_variant(
    preset: str, precision: str = "fp32", models_dir: str | os.PathLike[str] | None = None
) -> VariantInfo:
    """The manifest entry for ``preset``/``precision``, or a clear error naming the
    export command to run (and the export extra's install command when it is missing)."""
    directory = resolve_models_dir(models_dir)
    found = resolve_preset(preset, directory)
    if found.kind == "baseline":
        return baseline_variant(found, precision, directory)
    name = found.name
    info = Manifest.load(directory).find(name, precision)
    if info is None or not info.path.exists():
        hint = export_hint(name, precision, directory)
        missing = missing_modules(EXPORT_MODULES)
        needs = (
            f" (needs the export extra, {', '.join(missing)} not installed: "
            f"{install_command('export')})"
            if missing
            else ""
        )
        raise ModelNotFoundError(f"no {name} {precision} model in {directory}: run '{hint}'{needs}")
    return info


@dataclass(frozen=True)
class ResolvedModel:
    """The model a command runs, resolved once: architecture, preset, precision,
    backend, file and checksum. Two doors that print the same ``ResolvedModel`` run the
    same bytes the same way, so they give the same map.

    >>> session = open_session(device="cpu")            # doctest: +SKIP
    >>> session.resolved.precision, session.resolved.backend   # doctest: +SKIP
    ('int8', 'openvino')
    """

    architecture: str
    preset: str
    precision: str
    backend: str
    file: str
    sha256: str
    height: int
    width: int

    @classmethod
    def of(cls, session: SaliencySession) -> ResolvedModel:
        """The resolved model behind an open session."""
        variant = session.variant
        return cls(
            architecture=str(getattr(variant, "architecture", "") or "msinet"),
            preset=variant.preset,
            precision=variant.precision,
            backend=session.backend,
            file=str(variant.path),
            sha256=variant.sha256,
            height=variant.height,
            width=variant.width,
        )

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-ready fields (reports, ``/v1/info``, result metadata)."""
        return asdict(self)


def baseline_variant(preset: Preset, precision: str, directory: os.PathLike[str]) -> VariantInfo:
    """The variant of a classical model: computed in code, one precision, nothing on disk
    (``sha256`` names the algorithm so that ``--workers`` indexes key on it)."""
    if precision not in ("fp32", "auto"):
        raise SaliencyCamError(
            f"{preset.name} is a classical model computed in float32: it has no "
            f"{precision} variant (leave --precision out)"
        )
    algorithm = preset.name.partition("@")[0]
    return VariantInfo(
        preset=preset.name,
        precision="fp32",
        height=preset.height,
        width=preset.width,
        file="",
        sha256=f"{BUILTIN_SOURCE}-{algorithm}",
        weights={"source": BUILTIN_SOURCE, "trained": True, "algorithm": algorithm},
        opset=0,
        note=preset.description,
        directory=Path(directory),
    )


def _redo_hint(variant: VariantInfo) -> str:
    """What to run to make a variant's file again."""
    if variant.contract:
        return f"add it again with 'saliency-cam models add {variant.preset} FILE.onnx --replace'"
    return f"run '{export_hint(variant.preset, variant.precision, variant.directory)} --force'"


def _is_direct(variant: VariantInfo) -> bool:
    """True for models that run one way only (classical, or an added ONNX file under its
    contract): no precision or backend to choose."""
    return variant.builtin or bool(variant.contract)


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
        if _is_direct(variant):
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
        path = variant.path
        if verify and sha256_file(path) != variant.sha256:
            raise SaliencyCamError(
                f"model file {path} does not match its manifest checksum (damaged or replaced): "
                f"{_redo_hint(variant)}"
            )
        #: One line to show before a slow first run (TensorRT builds its engines).
        self.gpu_problem = prepare_gpu(self.choice) if self.backend == "onnxruntime" else ""
        if self.gpu_problem and self.choice.explicit:
            raise SaliencyCamError(f"--device {self.choice.device}: {self.gpu_problem}")
        options = EngineOptions(threads=threads, mode=mode, precision=variant.precision)
        try:
            if variant.contract:
                from saliency_cam.models.contract import Contract
                from saliency_cam.realtime.runtime.backends.added import AddedModelEngine

                contract = Contract.from_json(variant.contract)
                self.engine = AddedModelEngine(path, contract, self.choice, options)
            else:
                self.engine = open_engine(
                    self.backend,
                    path,
                    self.choice,
                    options,
                    device=device,
                    model_sha=variant.sha256,
                )
        except SaliencyCamError as exc:
            if variant.contract:  # the message names the mismatch, not the model
                raise SaliencyCamError(f"model {variant.preset}: {exc}") from exc
            raise
        except Exception as exc:  # onnxruntime/OpenVINO raise their own untyped errors
            raise SaliencyCamError(
                f"cannot load model {path} ({str(exc).splitlines()[0][:200]}): "
                f"{_redo_hint(variant)}"
            ) from exc
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
        self._finish_open(warmup)

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
    from saliency_cam.realtime.runtime.precision import check_precision, pick_precision

    # None = the defaults every door shares (runtime/defaults.py)
    quality = quality or DEFAULT_QUALITY
    precision = check_precision(precision or default_precision())
    direct = _direct_variant(quality, precision, models_dir)
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
    backend = check_backend(backend or default_backend())
    ort_device = device if backend != "openvino" else "cpu"
    if choice is None:
        try:
            choice = choose_providers(ort_device)
        except SaliencyCamError:
            if backend != "auto":
                raise
            # an OpenVINO device name (GPU.1, NPU) under auto: OpenVINO decides
            choice, backend = choose_providers("cpu"), "openvino"

    def opened(name: str, chosen: str, warm: int = warmup) -> SaliencySession:
        try:
            variant = find_variant(quality, chosen, models_dir)
        except ModelNotFoundError:
            if on_missing is None:
                raise
            on_missing(resolve_preset(quality, models_dir).name, chosen)
            variant = find_variant(quality, chosen, models_dir)
        return SaliencySession(
            variant,
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
        if backend == "openvino":
            from saliency_cam.realtime.runtime.autoselect import candidates

            precision = candidates(quality, "auto", choice, models_dir, ["openvino"])[0][1]
        else:
            precision = pick_precision(quality, choice, models_dir)
    session = opened(backend, precision)
    session.backend_note = note
    return session


def _direct_variant(
    name: str, precision: str, models_dir: str | os.PathLike[str] | None
) -> VariantInfo | None:
    """The variant of a classical or added model called ``name`` (None for the others)."""
    directory = resolve_models_dir(models_dir)
    try:
        preset = resolve_preset(name, directory)
    except SaliencyCamError:
        return None  # the ordinary path raises the error that lists every name
    if preset.kind == "baseline":
        return baseline_variant(preset, precision, directory)
    if preset.kind != "user":
        return None
    manifest = Manifest.load(directory)
    info = manifest.find(preset.name, "fp32")
    if info is None or not info.contract:
        return None
    if precision not in ("fp32", "auto"):
        raise SaliencyCamError(
            f"{preset.name} is an added ONNX model: it has one variant, fp32 "
            "(leave --precision out)"
        )
    if not info.path.exists():
        raise ModelNotFoundError(
            f"the file of added model {preset.name} is missing from {directory}: "
            f"add it again with 'saliency-cam models add {preset.name} FILE.onnx'"
        )
    return info


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
