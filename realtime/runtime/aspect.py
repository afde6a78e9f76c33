"""Aspect-matched network inputs: run a 16:9 or 9:16 frame at its own shape instead of
padding it into the preset's 4:3 box (docs/design.md §3: 16:9 wastes ~25 % of a 4:3 input,
9:16 ~58 %).

Modes (``--aspect``; ``--letterbox`` is ``letterbox``):

* ``match`` (default): the picture keeps the scale letterboxing gives it and the padding
  is cut off — the input is the letterboxed picture rounded up to multiples of 8, so it has
  at most the preset's pixels and the frame's aspect to within 8 px: same detail, less
  compute.
* ``fill``: the input closest to the frame's aspect that uses the preset's whole pixel
  budget (multiples of 8): same compute as the preset, more detail.
* ``letterbox``: the original behaviour, the preset's own size with grey padding.

>>> aspect_size((720, 1280), (240, 320), "match")
(184, 320)
>>> aspect_size((1280, 720), (240, 320), "match")
(240, 136)
>>> aspect_size((720, 1280), (240, 320), "fill")
(208, 368)
>>> aspect_size((480, 640), (240, 320), "match")
(240, 320)
"""

from __future__ import annotations

import math

from saliency_cam.models.errors import SaliencyCamError

ASPECT_MODES: tuple[str, ...] = ("match", "fill", "letterbox")
MULTIPLE = 8


def check_aspect(mode: str) -> str:
    """Normalise an ``--aspect`` value."""
    value = mode.strip().lower()
    if value not in ASPECT_MODES:
        raise SaliencyCamError(f"unknown aspect mode {mode!r}: choose {', '.join(ASPECT_MODES)}")
    return value


def aspect_size(
    frame: tuple[int, int], preset: tuple[int, int], mode: str = "match"
) -> tuple[int, int]:
    """Network input (H, W), multiples of 8, for a ``frame`` (H, W) at a ``preset`` size."""
    mode = check_aspect(mode)
    h, w = frame
    ph, pw = preset
    if mode == "letterbox" or h <= 0 or w <= 0:
        return preset
    if mode == "match":
        # rounded up: the picture keeps the letterbox's scale (< 8 px of padding)
        scale = min(ph / h, pw / w)
        return (_ceil8(h * scale, ph), _ceil8(w * scale, pw))
    return _fill(h, w, ph * pw)


def _ceil8(value: float, limit: int) -> int:
    return min(limit, max(MULTIPLE, MULTIPLE * math.ceil(value / MULTIPLE - 1e-9)))


def _round8(value: float, limit: int) -> int:
    # half up: a picture 180 px tall gets 184 (4 px of padding), not 176 (shrunk)
    return min(limit, max(MULTIPLE, MULTIPLE * int(value / MULTIPLE + 0.5)))


def _fill(h: int, w: int, budget: int) -> tuple[int, int]:
    """The multiples-of-8 size within ``budget`` pixels that shows the frame largest
    (letterboxed into it), fewest pixels on a tie."""
    best: tuple[float, int, tuple[int, int]] = (-1.0, 0, (MULTIPLE, MULTIPLE))
    for th in range(MULTIPLE, budget // MULTIPLE + 1, MULTIPLE):
        tw_max = (budget // th) // MULTIPLE * MULTIPLE
        if tw_max < MULTIPLE:
            break
        tw = min(tw_max, _round8(th * w / h, tw_max))
        for cand in {tw, tw_max}:
            scale = min(th / h, cand / w)
            key = (round(scale * scale * h * w, 6), -th * cand, (th, cand))
            if key[:2] > best[:2]:
                best = key
    return best[2]
