"""The heads-up display drawn on the live picture: quality, device, FPS, latency, and
warnings that must not be missed (UNTRAINED weights, a quality still loading).

>>> info = HudInfo(quality="high", device="CPU", fps=11.8, latency_ms=92.0)
>>> picture = draw_hud(picture, info)          # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

_FONT = cv2.FONT_HERSHEY_SIMPLEX
_WHITE = (255, 255, 255)
_RED = (60, 60, 255)
_YELLOW = (60, 220, 255)

KEY_HELP = "q/Esc quit  1-5 quality  v view  m mirror  space pause  s snapshot  h help"


@dataclass
class HudInfo:
    """What the HUD shows. ``status`` is a transient line (e.g. ``loading high…``)."""

    quality: str
    device: str
    fps: float
    latency_ms: float
    trained: bool = True
    view: str = "overlay"
    status: str = ""
    paused: bool = False
    dropped: int = 0
    show_help: bool = False
    #: with --reuse: ``computed`` (the network ran on this frame) or ``propagated``
    map_kind: str = ""

    def lines(self) -> list[tuple[str, tuple[int, int, int]]]:
        """The text lines, each with its BGR colour, top to bottom."""
        latency = "- ms" if math.isnan(self.latency_ms) else f"{self.latency_ms:.0f} ms"
        kind = f"  map {self.map_kind}" if self.map_kind else ""
        out = [
            (f"{self.quality}  {self.device}  {self.fps:.1f} FPS  {latency}{kind}", _WHITE),
        ]
        if not self.trained:
            out.append(("UNTRAINED random weights - not real saliency", _RED))
        if self.status:
            out.append((self.status, _YELLOW))
        if self.paused:
            out.append(("PAUSED (space to resume)", _YELLOW))
        if self.show_help:
            out.append((KEY_HELP, _WHITE))
        return out


def draw_hud(image: np.ndarray, info: HudInfo) -> np.ndarray:
    """Draw ``info`` in the top-left corner of a BGR uint8 ``image``, in place, on a
    darkened box so it stays readable on any picture. Returns ``image``."""
    return _draw_lines(image, info.lines())


def _draw_lines(image: np.ndarray, lines: list[tuple[str, tuple[int, int, int]]]) -> np.ndarray:
    h, w = image.shape[:2]
    scale = float(np.clip(w / 1100.0, 0.35, 1.2))
    thickness = 1 if scale < 0.8 else 2
    sizes = [cv2.getTextSize(text, _FONT, scale, thickness)[0] for text, _ in lines]
    pad = max(4, int(8 * scale))
    step = max(s[1] for s in sizes) + pad
    box_w = min(w, max(s[0] for s in sizes) + 2 * pad)
    box_h = min(h, step * len(lines) + pad)
    region = image[:box_h, :box_w]
    # darken instead of painting black: the picture stays visible behind the text
    np.multiply(region, 0.35, out=region, casting="unsafe")
    y = pad
    for (text, colour), size in zip(lines, sizes, strict=True):
        y += size[1]
        cv2.putText(image, text, (pad, y), _FONT, scale, colour, thickness, cv2.LINE_AA)
        y += pad
    return image


UNTRAINED_LABEL = "UNTRAINED random weights - not real saliency"


def mark_untrained(image: np.ndarray) -> np.ndarray:
    """Write the UNTRAINED warning in red in the top-left corner of a BGR uint8 picture,
    in place (the live HUD's line, for pictures and videos made by a random-weight
    model, so the label travels with the pixels). Returns ``image``.

    >>> picture = mark_untrained(render(frame, saliency))   # doctest: +SKIP
    """
    return _draw_lines(image, [(UNTRAINED_LABEL, _RED)])
