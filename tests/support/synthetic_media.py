"""Small media files for tests, made on the fly: frames stamped with their index
(``sources.stamp_index``) so order and completeness can be checked after decoding."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np

from saliency_cam.realtime.io.sources import TestPattern


def stamped_frames(count: int, size: tuple[int, int] = (240, 320)) -> list[np.ndarray]:
    """``count`` BGR test-pattern frames, frame i stamped with i."""
    pattern = TestPattern(size)
    return [pattern.frame(i) for i in range(count)]


def write_clip(path: Path, count: int, size: tuple[int, int] = (240, 320), fps: int = 25) -> Path:
    """Write an H.264 MP4 of ``count`` stamped frames (near-lossless, so stamps survive)."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.height, stream.width = size
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "12", "preset": "ultrafast"}
        for image in stamped_frames(count, size):
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
