"""Where live pictures are shown: an OpenCV window, or nowhere (``--no-display``).

The live app talks only to the small :class:`Display` interface, so all of its logic
runs headless in tests (a scripted display feeds it key presses).

>>> with OpenCVWindow("saliency-cam") as window:   # doctest: +SKIP
...     window.show(picture)
...     key = window.poll_key()
"""

from __future__ import annotations

import os
import sys
from typing import Protocol

import numpy as np

from saliency_cam.models.errors import SaliencyCamError


class Display(Protocol):
    """Shows pictures and reports key presses."""

    def show(self, image: np.ndarray) -> None:
        """Show a BGR uint8 picture."""

    def poll_key(self, wait_ms: int = 1) -> int | None:
        """The key pressed since the last call (a character code), or None."""

    @property
    def closed(self) -> bool:
        """True once the user closed the window."""

    def close(self) -> None: ...


class NoDisplay:
    """Shows nothing and never reports a key (``--no-display``)."""

    closed = False

    def show(self, image: np.ndarray) -> None:
        pass

    def poll_key(self, wait_ms: int = 1) -> int | None:
        return None

    def close(self) -> None:
        pass


def display_available() -> str | None:
    """None if a window can be opened here, else the reason (one line)."""
    if sys.platform.startswith("linux") and not (
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    ):
        # OpenCV's Qt backend aborts the whole process without a display: check first.
        return "no display here (DISPLAY is not set, e.g. over SSH or in a container)"
    return None


class OpenCVWindow:
    """A resizable OpenCV window. Closing it with the mouse counts as quitting."""

    def __init__(self, title: str = "saliency-cam") -> None:
        reason = display_available()
        if reason:
            raise SaliencyCamError(
                f"cannot open a window: {reason}; run with --no-display "
                "(add --record out.mp4 to keep the result)"
            )
        import cv2

        self.title = title
        try:
            cv2.namedWindow(title, cv2.WINDOW_NORMAL | cv2.WINDOW_KEEPRATIO)
        except cv2.error as exc:  # opencv-python-headless has no GUI at all
            raise SaliencyCamError(
                "cannot open a window: this OpenCV has no GUI support (opencv-python-headless?);"
                " install opencv-python or run with --no-display"
            ) from exc
        self._shown = False
        self._closed = False

    def show(self, image: np.ndarray) -> None:
        import cv2

        cv2.imshow(self.title, image)
        self._shown = True

    def poll_key(self, wait_ms: int = 1) -> int | None:
        import cv2

        key = cv2.waitKey(max(1, wait_ms))
        if self._shown and cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) < 1:
            self._closed = True
        return None if key < 0 else key & 0xFF

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        import cv2

        try:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
        except cv2.error:
            pass

    def __enter__(self) -> OpenCVWindow:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
