"""Map reuse between frames (``--reuse N``): run the network every N-th frame and carry
the last map to the frames in between along the picture's motion.

Neighbouring video frames mostly show the same things, moved a little. On a frame in
between, :class:`MapPropagator` measures that motion with dense optical flow (OpenCV's
DIS, on a small grey copy of the frame: a few milliseconds) and warps the last map
with it instead of running the network. A fresh run comes every ``every`` frames, or
sooner when the picture changes in a way motion does not explain (``change``: what is
left after warping the previous grey copy onto the new one, as a fraction of full
scale; moving objects and camera pans leave about 0.01) or cuts to another scene
(``cut``: a residual so large that the frames show different scenes). A map computed
because it was due is blended with the warped previous one (exponential smoothing,
``smooth``), so the refresh does not pop; after a change or a cut the fresh map is
used as is (the old one belongs to what is no longer there).

What it trades: the network's cost is paid on about one frame in ``every``; in
between the map moves with the picture but cannot see something new appear (a face
turning towards the camera is only found at the next fresh run, at most ``every - 1``
frames later), and warping blurs it slightly.

>>> import numpy as np
>>> reuse = MapPropagator(every=3)
>>> frames = [np.zeros((90, 160, 3), np.uint8) for _ in range(4)]
>>> steps = [reuse.step(f, lambda f=f: np.zeros(f.shape[:2], np.float32)) for f in frames]
>>> [s.kind for s in steps]
['computed', 'propagated', 'propagated', 'computed']
>>> [s.reason for s in steps]
['first', '', '', 'due']
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

#: What a step's map is: the network's (``computed``) or the last one warped (``propagated``).
COMPUTED = "computed"
PROPAGATED = "propagated"


@dataclass(frozen=True)
class ReuseStep:
    """One frame's map and how it was made. ``reason`` says why the network ran
    (``first``, ``due``, ``change``, ``cut``; empty for a propagated frame);
    ``residual`` is the motion-compensated difference to the previous frame (0..1)."""

    map: np.ndarray
    kind: str
    reason: str = ""
    residual: float = 0.0

    @property
    def computed(self) -> bool:
        return self.kind == COMPUTED


class MapPropagator:
    """Decides per frame whether to run the network, and warps the last map otherwise.

    ``every``: at most this many frames per network run (1 = every frame, nothing
    reused). ``change``/``cut``: residual thresholds (fraction of full scale) for an
    early run and for a scene cut. ``smooth``: weight of the warped previous map in a
    fresh run's output (0 = the fresh map as is). ``flow_width``: width of the grey
    copy the flow is measured on and the map carried at (measured on a blob moving
    8 px a frame: 160 lags by up to 9 px after two warps, 320 by at most 6).
    One instance per stream, used from one thread; :meth:`reset` forgets the past
    (e.g. after a seek or a quality switch).
    """

    def __init__(
        self,
        every: int = 3,
        *,
        change: float = 0.05,
        cut: float = 0.1,
        smooth: float = 0.2,
        flow_width: int = 320,
    ) -> None:
        if every < 1:
            raise ValueError("every must be at least 1")
        if not 0.0 <= smooth < 1.0:
            raise ValueError("smooth must be in [0, 1)")
        self.every = every
        self.change = change
        self.cut = cut
        self.smooth = smooth
        self.flow_width = flow_width
        # ultrafast: a map is smooth, so a coarse flow is enough (FAST tracked no better)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        self.reset()

    def reset(self) -> None:
        """Forget the previous frame: the next step runs the network."""
        self._grey: np.ndarray | None = None
        self._state: np.ndarray | None = None  # the map, at the flow's size
        self._shape: tuple[int, int] | None = None
        self._since = 0

    # ------------------------------------------------------------------ pieces

    def _small_grey(self, image: np.ndarray) -> np.ndarray:
        h, w = image.shape[:2]
        width = min(self.flow_width, w)
        height = max(8, round(h * width / w))
        # resize first: converting the small copy is cheaper than the full frame
        small = cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)
        if small.ndim == 3:
            code = cv2.COLOR_BGRA2GRAY if small.shape[2] == 4 else cv2.COLOR_BGR2GRAY
            small = cv2.cvtColor(small, code)
        return small

    def _state_size(self, shape: tuple[int, int]) -> tuple[int, int]:
        h, w = shape
        width = min(self.flow_width, w)
        return width, max(8, round(h * width / w))

    @staticmethod
    def _warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
        """``image`` sampled at ``x + flow(x)`` (flow at ``image``'s size)."""
        h, w = flow.shape[:2]
        grid_x, grid_y = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        return cv2.remap(
            image,
            grid_x + flow[..., 0],
            grid_y + flow[..., 1],
            cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_REPLICATE,
        )

    def _fresh(
        self, compute: Callable[[], np.ndarray], warped: np.ndarray | None, reason: str
    ) -> tuple[np.ndarray, str]:
        fresh = np.asarray(compute(), dtype=np.float32)
        if fresh.ndim == 3:
            fresh = fresh[..., 0]
        size = self._state_size(fresh.shape[:2])
        small = cv2.resize(fresh, size, interpolation=cv2.INTER_AREA)
        if warped is None or self.smooth <= 0.0:
            self._state = small
            return fresh, reason
        self._state = cv2.addWeighted(small, 1.0 - self.smooth, warped, self.smooth, 0.0)
        shown = cv2.resize(warped, fresh.shape[::-1], interpolation=cv2.INTER_LINEAR)
        return cv2.addWeighted(fresh, 1.0 - self.smooth, shown, self.smooth, 0.0), reason

    # ------------------------------------------------------------------ the step

    def step(self, image: np.ndarray, compute: Callable[[], np.ndarray]) -> ReuseStep:
        """The map for ``image``: ``compute()`` (the network, map at the frame's size)
        when it is due, the scene changed or cut, else the last map warped along the
        motion from the previous frame."""
        if self.every == 1:  # nothing reused: no flow to pay for
            return ReuseStep(np.asarray(compute(), dtype=np.float32), COMPUTED, "due")
        grey = self._small_grey(image)
        shape = image.shape[:2]
        if self._grey is None or self._state is None or shape != self._shape:
            self._grey, self._shape, self._since = grey, shape, 1
            fresh, _ = self._fresh(compute, None, "first")
            return ReuseStep(fresh, COMPUTED, "first")
        # flow from the new frame back to the previous one: where each new pixel came from
        flow = self._dis.calc(grey, self._grey, None)
        residual = float(cv2.absdiff(self._warp(self._grey, flow), grey).mean()) / 255.0
        self._grey = grey
        if residual > self.cut:
            self._since = 1
            fresh, _ = self._fresh(compute, None, "cut")
            return ReuseStep(fresh, COMPUTED, "cut", residual)
        sh, sw = self._state.shape[:2]
        fh, fw = flow.shape[:2]
        scaled = cv2.resize(flow, (sw, sh), interpolation=cv2.INTER_LINEAR)
        scaled[..., 0] *= sw / fw
        scaled[..., 1] *= sh / fh
        warped = self._warp(self._state, scaled)
        if residual > self.change:  # something appeared that motion does not explain
            self._since = 1
            fresh, _ = self._fresh(compute, None, "change")
            return ReuseStep(fresh, COMPUTED, "change", residual)
        if self._since >= self.every:
            self._since = 1
            fresh, _ = self._fresh(compute, warped, "due")
            return ReuseStep(fresh, COMPUTED, "due", residual)
        self._since += 1
        self._state = warped
        shown = cv2.resize(warped, (shape[1], shape[0]), interpolation=cv2.INTER_LINEAR)
        return ReuseStep(shown, PROPAGATED, "", residual)
