"""Test-pattern media for tests: frames stamped with their index in the pixels
(:func:`stamp_index` / :func:`read_index`) so order and completeness can be checked after
resizing or lossy encoding. The pattern itself is the app's (``realtime/io/pattern.py``);
the stamping is test-only and lives here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from media_factory import make_clip

from saliency_cam.realtime.io.pattern import TestPattern
from saliency_cam.realtime.io.pattern import synthetic_source as _synthetic_source
from saliency_cam.realtime.io.sources import FrameSource


def stamp_index(image: np.ndarray, index: int, bits: int = 16, cell: int = 8) -> None:
    """Write ``index`` into the bottom-left corner of ``image`` as ``bits`` black/white
    cells, in place, so a frame can be identified after resizing or lossy encoding (the
    HUD sits top-left, so the stamp survives in the side-by-side view)."""
    rows = image[image.shape[0] - cell :]
    for bit in range(bits):
        rows[:, bit * cell : (bit + 1) * cell] = 255 if (index >> bit) & 1 else 0


def read_index(image: np.ndarray, bits: int = 16, cell: int = 8) -> int:
    """Read back an index written by :func:`stamp_index` (centre of each cell)."""
    inset = max(1, cell // 4)
    rows = image[image.shape[0] - cell + inset : image.shape[0] - inset]
    value = 0
    for bit in range(bits):
        if float(rows[:, bit * cell + inset : (bit + 1) * cell - inset].mean()) > 127.5:
            value |= 1 << bit
    return value


def synthetic_source(
    fps: float = 30.0,
    size: tuple[int, int] = (480, 640),
    frames: int | None = None,
    *,
    live: bool = True,
) -> FrameSource:
    """The app's test-pattern source with every frame stamped with its index."""
    return _synthetic_source(fps, size, frames, live=live, mark=stamp_index)


def stamped_frames(count: int, size: tuple[int, int] = (240, 320)) -> list[np.ndarray]:
    """``count`` BGR test-pattern frames, frame i stamped with i."""
    pattern = TestPattern(size, stamp_index)
    return [pattern.frame(i) for i in range(count)]


def stamped_frame(index: int, size: tuple[int, int] = (240, 320)) -> np.ndarray:
    """Test-pattern frame ``index`` stamped with its index."""
    return TestPattern(size, stamp_index).frame(index)


def write_clip(path: Path, count: int, size: tuple[int, int] = (240, 320), fps: int = 25) -> Path:
    """Write an H.264 MP4 of ``count`` stamped test-pattern frames (near-lossless, so the
    stamps survive), with the one clip writer of :mod:`media_factory`."""
    pattern = TestPattern(size, stamp_index)
    return make_clip(path, size[1], size[0], count, fps, picture=pattern.frame)
