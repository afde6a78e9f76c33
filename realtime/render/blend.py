"""Turning a saliency map into pictures: colour it, blend it, lay out the view.

>>> heat = colorize(saliency, "inferno")                           # doctest: +SKIP
>>> picture = render(frame, saliency, view="overlay", alpha=0.5)   # doctest: +SKIP
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from saliency_cam.models.errors import SaliencyCamError

VIEWS: tuple[str, ...] = ("overlay", "heatmap", "side")


def colormap_names() -> list[str]:
    """OpenCV colormap names usable with ``--colormap`` (lower case, no prefix)."""
    return sorted(
        name[len("COLORMAP_") :].lower() for name in dir(cv2) if name.startswith("COLORMAP_")
    )


def resolve_colormap(name: str) -> int:
    """OpenCV colormap constant for ``name`` (``inferno``, ``jet``, ``COLORMAP_JET`` …)."""
    key = name.strip().upper().removeprefix("COLORMAP_")
    value = getattr(cv2, f"COLORMAP_{key}", None)
    if value is None:
        raise SaliencyCamError(
            f"unknown colormap {name!r}: choose one of {', '.join(colormap_names())}"
        )
    return int(value)


def resolve_view(name: str) -> str:
    """Validate a view name (overlay, heatmap, side)."""
    key = name.strip().lower()
    if key not in VIEWS:
        raise SaliencyCamError(f"unknown view {name!r}: choose one of {', '.join(VIEWS)}")
    return key


def to_uint8(saliency: np.ndarray) -> np.ndarray:
    """Float map in [0, 1] → uint8 0..255 (rounded, saturated)."""
    # One OpenCV pass (scale, round, saturate) is ~15x faster than clip + astype in
    # NumPy at 720p, and this runs on every output frame.
    # (max with 0 first: convertScaleAbs would turn a negative value into its absolute.)
    return cv2.convertScaleAbs(np.maximum(np.asarray(saliency, dtype=np.float32), 0.0), alpha=255.0)


def colorize(saliency: np.ndarray, colormap: int | str = "inferno") -> np.ndarray:
    """Colour a float map in [0, 1] (H, W) into a BGR uint8 image (H, W, 3)."""
    cmap = resolve_colormap(colormap) if isinstance(colormap, str) else colormap
    return cv2.applyColorMap(to_uint8(saliency), cmap)


def render(
    frame: np.ndarray,
    saliency: np.ndarray,
    view: str = "overlay",
    alpha: float = 0.5,
    colormap: int | str = "inferno",
    *,
    untrained: bool | None = None,
) -> np.ndarray:
    """Compose the output picture for ``view``.

    ``overlay``: frame blended with the coloured map (``alpha`` = map weight);
    ``heatmap``: the coloured map alone; ``side``: frame and overlay side by side
    (twice the width). ``saliency`` must already be at the frame's size.

    A map from an UNTRAINED model gets the UNTRAINED line written into the picture, as
    the CLI's outputs do: ``untrained`` None means "when ``saliency`` is an
    :class:`~saliency_cam.realtime.runtime.untrained.UntrainedMap`" (what
    ``saliency_cam.predict`` returns for one); with a session, pass
    ``untrained=not session.trained``.
    """
    from saliency_cam.realtime.runtime.untrained import UntrainedMap

    if saliency.shape[:2] != frame.shape[:2]:
        raise ValueError(f"map {saliency.shape[:2]} does not match frame {frame.shape[:2]}")
    if untrained is None:
        untrained = isinstance(saliency, UntrainedMap)
    picture = _compose(frame, np.asarray(saliency), view, alpha, colormap)
    if untrained:
        from saliency_cam.realtime.render.hud import mark_untrained

        mark_untrained(picture)  # a new picture, never the caller's frame
    return picture


def _compose(
    frame: np.ndarray, saliency: np.ndarray, view: str, alpha: float, colormap: int | str
) -> np.ndarray:
    """:func:`render`'s picture, always a new array."""
    heat = colorize(saliency, colormap)
    if view == "heatmap":
        return heat
    overlay = cv2.addWeighted(frame, 1.0 - alpha, heat, alpha, 0.0)
    if view == "overlay":
        return overlay
    if view == "side":
        return np.hstack([frame, overlay])
    raise SaliencyCamError(f"unknown view {view!r}: choose one of {', '.join(VIEWS)}")


@dataclass
class TemporalSmoother:
    """Exponential moving average of successive maps, to calm flicker on video.

    ``strength`` 0 disables it; 0.8 keeps 80 % of the previous map each frame. The state
    resets when the map size changes (e.g. after a quality switch).
    """

    strength: float = 0.0
    _state: np.ndarray | None = None

    def __call__(self, saliency: np.ndarray) -> np.ndarray:
        if self.strength <= 0.0:
            return saliency
        if self._state is None or self._state.shape != saliency.shape:
            self._state = saliency.astype(np.float32, copy=True)
        else:
            # in place: no per-frame allocation
            self._state *= self.strength
            self._state += (1.0 - self.strength) * saliency
        return self._state

    def reset(self) -> None:
        self._state = None
