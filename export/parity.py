"""Real-looking test frames and the ONNX-vs-TensorFlow parity measurement made at export.

Parity is measured on letterboxed frames the way the runtime feeds them (uint8 BGR at
the preset size): the bundled sample pictures plus a few synthetic scenes with smooth
gradients, edges and texture, so a conversion bug that only shows on natural images
(e.g. a wrong resize mapping or a channel swap) is caught before a file is written.

>>> frames = parity_frames((48, 64))
>>> frames[0].shape, frames[0].dtype
((48, 64, 3), dtype('uint8'))
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.models.media import is_image
from saliency_cam.realtime.runtime.letterbox import Letterbox

#: The fp32 tolerance of the issue: max |onnxruntime - TensorFlow| over all pixels.
FP32_TOLERANCE = 1e-4


def sample_images() -> list[tuple[str, np.ndarray]]:
    """The bundled sample pictures (``models/assets``) as ``(name, BGR uint8)``."""
    root = resources.files("saliency_cam.models") / "assets"
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if not is_image(entry.name):
            continue
        with resources.as_file(entry) as path:
            image = cv2.imread(str(Path(path)), cv2.IMREAD_COLOR)
        if image is not None:
            out.append((entry.name, image))
    return out


def synthetic_scenes(seed: int = 7) -> list[tuple[str, np.ndarray]]:
    """Three seeded synthetic BGR scenes: a smooth 4:3 scene with blobs and edges, a
    16:9 textured scene (so letterboxing pads it), and a portrait with fine detail."""
    rng = np.random.default_rng(seed)

    def smooth(h: int, w: int) -> np.ndarray:
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        img = np.stack([40 + 150 * xx / w, 60 + 120 * yy / h, 200 - 120 * xx / w], -1)
        for _ in range(4):  # bright blobs: the kind of thing saliency picks up
            cy, cx, r = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(h / 12, h / 5)
            blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * r * r))
            img += blob[..., None] * rng.uniform(-120, 120, 3).astype(np.float32)
        cv2.rectangle(img, (w // 8, h // 2), (w // 3, h - h // 8), (20, 20, 230), -1)
        return img

    def texture(h: int, w: int) -> np.ndarray:
        noise = rng.normal(128, 60, (h // 4, w // 4, 3)).astype(np.float32)
        img = cv2.resize(noise, (w, h), interpolation=cv2.INTER_CUBIC)
        checker = ((np.indices((h, w)).sum(0) // 16) % 2).astype(np.float32) * 60 - 30
        return img + checker[..., None]

    def detail(h: int, w: int) -> np.ndarray:
        img = smooth(h, w) + rng.normal(0, 25, (h, w, 3)).astype(np.float32)
        img = np.clip(img, 0, 255).astype(np.uint8)  # OpenCV 5 draws text on 8-bit only
        cv2.putText(img, "MSI", (w // 10, h // 2), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (255,) * 3, 4)
        return img.astype(np.float32)

    scenes = [("smooth_4x3", smooth(240, 320)), ("texture_16x9", texture(180, 320))]
    scenes.append(("detail_portrait", detail(320, 240)))
    return [(name, np.clip(img, 0, 255).astype(np.uint8)) for name, img in scenes]


def parity_frames(size: tuple[int, int], seed: int = 7) -> list[np.ndarray]:
    """Sample pictures and synthetic scenes letterboxed to ``size`` (H, W): uint8 BGR."""
    return [frame for _, frame in named_parity_frames(size, seed)]


def named_parity_frames(size: tuple[int, int], seed: int = 7) -> list[tuple[str, np.ndarray]]:
    """Like :func:`parity_frames`, with the name of each frame's source."""
    out = []
    for name, image in [*sample_images(), *synthetic_scenes(seed)]:
        box = Letterbox.fit(image.shape[:2], size)
        out.append((name, box.apply(image)))
    return out


@dataclass(frozen=True)
class ParityResult:
    """Max and mean absolute ORT-vs-TF difference over ``frames`` frames."""

    max_abs: float
    mean_abs: float
    frames: int
    tolerance: float
    #: Further checks (batch, other sizes) folded into ``max_abs``.
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.max_abs <= self.tolerance

    def to_json(self) -> dict[str, object]:
        """The manifest's ``parity`` entry."""
        return {
            "reference": "tensorflow",
            "max_abs": self.max_abs,
            "mean_abs": self.mean_abs,
            "frames": self.frames,
            "tolerance": self.tolerance,
            **self.extra,
        }


def compare(onnx_maps: np.ndarray, tf_maps: np.ndarray, tolerance: float) -> ParityResult:
    """Parity of two stacks of maps with the same shape ``[N, H, W, 1]``."""
    if onnx_maps.shape != tf_maps.shape:
        raise ValueError(f"shape mismatch: onnx {onnx_maps.shape} vs tensorflow {tf_maps.shape}")
    diff = np.abs(onnx_maps.astype(np.float64) - tf_maps.astype(np.float64))
    return ParityResult(float(diff.max()), float(diff.mean()), int(onnx_maps.shape[0]), tolerance)
