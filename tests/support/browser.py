"""Headless Chromium for the web page tests and benchmarks: a fake camera fed from a
generated y4m clip (docs/design.md §11). Needs Debian's ``chromium`` and ``chromium-driver``
and the ``selenium`` package.

>>> driver = open_chromium(write_y4m(tmp / "clip.y4m"))     # doctest: +SKIP
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
MISSING = (
    "needs Chromium and its driver (Debian: apt-get install chromium chromium-driver)"
    if CHROMIUM is None or CHROMEDRIVER is None
    else ""
)


def write_y4m_frames(path: Path, pictures, fps: int = 15) -> Path:
    """Write RGB pictures (equal-sized uint8 arrays) as a yuv4mpegpipe clip, the format
    Chromium's fake camera reads (PyAV)."""
    import av

    with av.open(str(path), "w", format="yuv4mpegpipe") as container:
        stream = container.add_stream("rawvideo", rate=fps)
        stream.pix_fmt = "yuv420p"
        for index, picture in enumerate(pictures):
            if index == 0:  # the stream's size comes from the pictures (its default is 640x480)
                stream.height, stream.width = picture.shape[:2]
            for packet in stream.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def write_y4m(path: Path, frames: int = 40, size: tuple[int, int] = (240, 320)) -> Path:
    """A dark clip with a bright square moving left to right."""
    height, width = size

    def pictures():
        for i in range(frames):
            picture = np.full((height, width, 3), 30, np.uint8)
            x = (i * 8) % (width - 60)
            picture[90:150, x : x + 60] = 255
            yield picture

    return write_y4m_frames(path, pictures())


def write_disc_y4m(
    path: Path,
    frames: int = 60,
    size: tuple[int, int] = (180, 320),
    radius: int = 20,
    centre_y: int = 60,
    fps: int = 15,
) -> Path:
    """A dark 16:9 clip with one bright disc moving left to right at height ``centre_y``
    (off the middle, so a vertical misplacement shows), from ``2 * radius`` to
    ``width - 2 * radius`` over the clip. Chromium's fake camera loops it."""
    height, width = size
    ys, xs = np.mgrid[0:height, 0:width]

    def pictures():
        for i in range(frames):
            centre_x = 2 * radius + (width - 4 * radius) * i / max(1, frames - 1)
            picture = np.full((height, width, 3), 30, np.uint8)
            picture[(xs - centre_x) ** 2 + (ys - centre_y) ** 2 <= radius**2] = 255
            yield picture

    return write_y4m_frames(path, pictures(), fps)


def open_chromium(clip: Path | None, *, allow_camera: bool = True):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = CHROMIUM
    flags = [
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,1000",
        "--use-fake-device-for-media-stream",
    ]
    if allow_camera:
        flags.append("--use-fake-ui-for-media-stream")
    else:
        flags.append("--deny-permission-prompts")
    if clip is not None:
        flags.append(f"--use-file-for-fake-video-capture={clip}")
    for flag in flags:
        options.add_argument(flag)
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def wait_until(condition, timeout: float = 90.0, what: str = "condition", poll: float = 0.2):
    """Poll ``condition`` until it returns something truthy and return that; fail with
    ``what`` after ``timeout`` seconds (the page works asynchronously)."""
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError(f"timed out waiting for {what}")
