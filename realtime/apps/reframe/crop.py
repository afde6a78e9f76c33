"""Saliency-aware image crops for every requested layout (``saliency-cam crop``).

For each size ``W×H``: the window of that aspect that keeps the most saliency mass
(:mod:`.window`), inside optional keep-out ``margins``; with ``min_scale < 1`` the
window may shrink (down to that fraction of the largest) as long as it keeps ``keep``
of the largest window's mass, i.e. it zooms in on the subject. The crop is resized to
exactly ``W×H``.

>>> sizes = [parse_size("1200x628"), parse_size("1080x1080")]                 # doctest: +SKIP
>>> result = crop_image(session.predict, Path("cat.jpg"), Path("out/cat"), sizes)  # doctest: +SKIP
>>> result.boxes["1200x628"]                                                  # doctest: +SKIP
Window(x=0, y=310, w=2400, h=1256, mass=...)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from saliency_cam.models.atomic import atomic_write_bytes, atomic_write_text
from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.apps.reframe.window import Window, best_window, integral, window_size
from saliency_cam.realtime.io.images import load_image

#: The map is searched at this longest side (the box is then scaled to the image).
ANALYSIS_SIDE = 384


#: The largest crop, in pixels (a 10000×10000 poster, 300 MB in memory): a size beyond it
#: is a typo, and ``100000x100000`` would allocate 30 GB before anything was written.
MAX_CROP_PIXELS = 100_000_000


def parse_size(text: str) -> tuple[int, int]:
    """``"1200x628"`` → ``(1200, 628)``; refused (one line) when malformed or larger than
    :data:`MAX_CROP_PIXELS`.

    >>> parse_size("400x400")
    (400, 400)
    """
    match = re.fullmatch(r"\s*(\d+)\s*[x×:]\s*(\d+)\s*", str(text))
    if not match or int(match.group(1)) == 0 or int(match.group(2)) == 0:
        raise SaliencyCamError(f"bad size {text!r}: write WIDTHxHEIGHT, e.g. 1200x628")
    width, height = int(match.group(1)), int(match.group(2))
    if width * height > MAX_CROP_PIXELS:
        raise SaliencyCamError(
            f"--size {width}x{height} is {width * height:,} pixels, over the limit of "
            f"{MAX_CROP_PIXELS:,}: ask for a smaller size"
        )
    return width, height


def size_name(size: tuple[int, int]) -> str:
    return f"{size[0]}x{size[1]}"


@dataclass(frozen=True)
class CropSettings:
    """``margins``: keep-out fractions (left, top, right, bottom) of the image the crop
    must not enter; ``min_scale``: smallest window as a fraction of the largest (1 =
    always the largest); ``keep``: mass a smaller window must still hold."""

    margins: tuple[float, float, float, float] = (0.0, 0.0, 0.0, 0.0)
    min_scale: float = 1.0
    keep: float = 0.9

    def __post_init__(self) -> None:
        if not 0.0 < self.min_scale <= 1.0:
            raise SaliencyCamError("--min-scale must be in (0, 1]")
        left, top, right, bottom = self.margins
        if min(self.margins) < 0 or left + right >= 1 or top + bottom >= 1:
            raise SaliencyCamError("margins must be ≥ 0 and leave part of the image")


def best_crop(
    saliency: np.ndarray, aspect: tuple[int, int], settings: CropSettings | None = None
) -> Window:
    """The crop window (in ``saliency``'s pixels) for a target ``aspect`` (w, h)."""
    settings = settings or CropSettings()
    height, width = saliency.shape[:2]
    left, top, right, bottom = settings.margins
    bounds = (
        int(np.ceil(left * width)),
        int(np.ceil(top * height)),
        int(np.floor((1 - right) * width)),
        int(np.floor((1 - bottom) * height)),
    )
    free_w, free_h = bounds[2] - bounds[0], bounds[3] - bounds[1]
    largest = window_size(free_w, free_h, aspect)
    sat = integral(saliency)
    best = best_window(saliency, largest, bounds=bounds, sat=sat)
    if settings.min_scale >= 1.0:
        return best
    chosen = best
    # shrink in 5 % steps; the smallest window still holding `keep` of the mass wins
    for scale in np.arange(0.95, settings.min_scale - 1e-9, -0.05):
        size = (max(1, round(largest[0] * scale)), max(1, round(largest[1] * scale)))
        candidate = best_window(saliency, size, bounds=bounds, sat=sat)
        if candidate.mass < settings.keep * best.mass:
            break
        chosen = candidate
    return chosen


@dataclass
class CropResult:
    """What one image produced: the box per size name (image pixels) and the files."""

    source: Path
    width: int
    height: int
    boxes: dict[str, Window] = field(default_factory=dict)
    kept: dict[str, float] = field(default_factory=dict)
    #: per size name: the saliency a centre crop of the same size would have kept
    kept_centre: dict[str, float] = field(default_factory=dict)
    #: per size name: how much the crop was enlarged to reach the size (1: not at all)
    upscale: dict[str, float] = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)

    def upscale_warnings(self) -> list[str]:
        """One line per size the picture was too small for (the crop was enlarged)."""
        return [
            f"warning: {self.source.name} {name}: upscaled {factor:.2f}× from a "
            f"{self.boxes[name].w}×{self.boxes[name].h} crop (the picture is smaller than "
            "that size; the result is blurrier)"
            for name, factor in self.upscale.items()
            if factor > 1.0
        ]


def crop_outputs(base: Path, source: Path, sizes: Sequence[tuple[int, int]], json_: bool):
    """Output names: ``<base>_<W>x<H><ext>`` per size (JPEG inputs stay JPEG, others
    PNG) and ``<base>_crops.json``."""
    ext = ".jpg" if source.suffix.lower() in (".jpg", ".jpeg") else ".png"
    files = [base.with_name(f"{base.name}_{size_name(s)}{ext}") for s in sizes]
    return files, (base.with_name(f"{base.name}_crops.json") if json_ else None)


def crop_image(
    saliency: Callable[[np.ndarray], np.ndarray],
    source: Path,
    base: Path,
    sizes: Sequence[tuple[int, int]],
    settings: CropSettings | None = None,
    *,
    write_json: bool = False,
) -> CropResult:
    """Crop ``source`` to every size in ``sizes``; write ``<base>_<W>x<H>.jpg|png`` (and
    the boxes as JSON when asked). ``saliency`` is usually ``session.predict``."""
    image = load_image(source)
    height, width = image.shape[:2]
    full = saliency(image)
    scale = min(1.0, ANALYSIS_SIDE / max(width, height))
    small = (
        cv2.resize(
            full,
            (max(1, round(width * scale)), max(1, round(height * scale))),
            interpolation=cv2.INTER_AREA,
        )
        if scale < 1
        else full
    )
    small = np.maximum(small, 0.0)
    total = float(small.sum()) or 1.0
    sx, sy = width / small.shape[1], height / small.shape[0]
    files, json_path = crop_outputs(base, source, sizes, write_json)
    sat = integral(small)
    result = CropResult(source, width, height)
    for size, path in zip(sizes, files, strict=True):
        box = best_crop(small, size, settings)
        full_box = _to_image(box, size, sx, sy, width, height)
        crop = image[full_box.y : full_box.y + full_box.h, full_box.x : full_box.x + full_box.w]
        shrink = size[0] * size[1] < full_box.w * full_box.h
        resized = cv2.resize(
            crop, size, interpolation=cv2.INTER_AREA if shrink else cv2.INTER_CUBIC
        )
        ok, data = cv2.imencode(path.suffix, resized, _encode_params(path.suffix))
        if not ok:
            raise SaliencyCamError(f"{path}: could not encode the crop")
        atomic_write_bytes(path, data.tobytes())
        name = size_name(size)
        result.boxes[name] = full_box
        result.kept[name] = box.mass / total
        result.kept_centre[name] = centre_mass(sat, box.w, box.h) / total
        result.upscale[name] = max(size[0] / full_box.w, size[1] / full_box.h, 1.0)
        result.outputs.append(path)
    if json_path is not None:
        atomic_write_text(json_path, json.dumps(crop_json(result), indent=1))
        result.outputs.append(json_path)
    return result


def centre_mass(sat: np.ndarray, w: int, h: int) -> float:
    """Saliency mass of the ``w``×``h`` window centred in the map whose summed-area
    table is ``sat`` (the baseline a salient crop is compared with)."""
    height, width = sat.shape[0] - 1, sat.shape[1] - 1
    x, y = (width - w) // 2, (height - h) // 2
    return float(sat[y + h, x + w] - sat[y, x + w] - sat[y + h, x] + sat[y, x])


def _encode_params(suffix: str) -> list[int]:
    return [cv2.IMWRITE_JPEG_QUALITY, 92] if suffix == ".jpg" else [cv2.IMWRITE_PNG_COMPRESSION, 3]


def _to_image(box: Window, size: tuple[int, int], sx: float, sy: float, width: int, height: int):
    """The analysis box in image pixels, with the exact target aspect and inside the image."""
    w = min(width, round(box.w * sx))
    h = min(height, round(w * size[1] / size[0]))
    if h > height:
        h = height
        w = min(width, round(h * size[0] / size[1]))
    cx, cy = (box.x + box.w / 2.0) * sx, (box.y + box.h / 2.0) * sy
    x = min(max(0, round(cx - w / 2.0)), width - w)
    y = min(max(0, round(cy - h / 2.0)), height - h)
    return Window(x, y, w, h, box.mass)


def crop_json(result: CropResult) -> dict[str, object]:
    """The boxes of one image, for use elsewhere (image pixels, top-left origin)."""
    return {
        "source": str(result.source),
        "image_size": [result.width, result.height],
        "crops": {
            name: {
                **box.as_dict(),
                "saliency_kept": round(result.kept[name], 4),
                "saliency_kept_centre_crop": round(result.kept_centre[name], 4),
                "upscale": round(result.upscale[name], 3),
            }
            for name, box in result.boxes.items()
        },
    }


def contact_sheet(results: Sequence[CropResult], path: Path, *, thumb_height: int = 160) -> Path:
    """One PNG: a row per image with its crops side by side (from the written files)."""
    rows = []
    for result in results:
        tiles = []
        for out in result.outputs:
            if out.suffix.lower() not in (".jpg", ".png"):
                continue
            tile = load_image(out)
            scale = thumb_height / tile.shape[0]
            tile = cv2.resize(tile, (max(1, round(tile.shape[1] * scale)), thumb_height))
            tiles.append(np.pad(tile, ((4, 4), (4, 4), (0, 0)), constant_values=255))
        if tiles:
            rows.append(np.hstack(tiles))
    if not rows:
        raise SaliencyCamError("no crops to put on a contact sheet")
    width = max(r.shape[1] for r in rows)
    sheet = np.vstack(
        [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    )
    ok, data = cv2.imencode(".png", sheet)
    if not ok:
        raise SaliencyCamError(f"{path}: could not encode the contact sheet")
    atomic_write_bytes(path, data.tobytes())
    return path


def crop_task(session, source: Path, **kwargs) -> CropResult:
    """:func:`crop_image` with a session (the per-file work for the batch runner)."""
    return crop_image(session.predict, source, **kwargs)
