"""Distillation data: a teacher's maps of unlabeled images or video frames, computed once
and cached as an ordinary training folder, so the usual trainer fits a student to them.

``saliency-cam train --teacher MODEL --arch lite IMAGES_OR_VIDEOS`` runs any model the
runtime can open by name (a quality or dataset preset, a trained model, an added ONNX)
on every image (found recursively) and on one frame every ``every`` seconds of every
video, and writes::

    CACHE/stimuli/<key>.png     the image (longest side at most ``max_side``)
    CACHE/saliency/<key>.npy    the teacher's map of it, float32 at the image's size
    CACHE/teacher.json          the teacher (name, size, sha256), and per key the
                                source's sha256 and the map's sha256

Run again, only what is missing or changed is computed: an entry is reused when its
source hash, its map's hash and the teacher (name, size, file hash) all match (another
teacher, or a changed file, recomputes it). The index is saved every few images, so Ctrl-C loses
little. The folder is then read by ``read_folder`` like any data folder: the trainer's
validation CC and KLD are the student's agreement with the teacher on held-out images.

>>> folder = teacher_maps("salicon", "./photos", Path("runs/student/teacher"))  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.models.atomic import atomic_output, atomic_write_text
from saliency_cam.models.errors import InputError
from saliency_cam.models.manifest import sha256_file
from saliency_cam.models.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

INDEX = "teacher.json"
INDEX_FORMAT = 1
#: Longest side of the cached images: far above every training preset's, far below a
#: photo's (a 4000×3000 photo would make every epoch decode 12 MP for a 64×48 input).
MAX_SIDE = 640
#: Save the index after this many new maps (resume granularity).
SAVE_EVERY = 16


@dataclass
class Item:
    """One training image to be: its key (file stem below the data), where it comes from,
    and a hash that changes when its pixels can have changed."""

    key: str
    source: str
    sha256: str
    load: Callable[[], np.ndarray]


def list_items(data: str | os.PathLike[str], every: float = 1.0) -> list[Item]:
    """Every image (recursively, sorted) and one frame every ``every`` seconds of every
    video in ``data`` (a folder, an image or a video file)."""
    root = Path(data).expanduser()
    if not root.exists():
        raise InputError(f"{root} does not exist: give a folder of images or videos, or a file")
    files = sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else [root]
    items: list[Item] = []
    for path in files:
        relative = path.relative_to(root) if root.is_dir() else Path(path.name)
        stem = _safe_key(relative.with_suffix("").as_posix())
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            items.append(Item(stem, str(path), sha256_file(path), _image_loader(path)))
        elif suffix in VIDEO_SUFFIXES:
            items.extend(_video_items(path, stem, every))
    if not items:
        raise InputError(
            f"no images or videos in {root}: distillation needs unlabeled images "
            f"({', '.join(sorted(IMAGE_SUFFIXES))}) or videos"
        )
    return items


def _safe_key(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_./-]", "_", text)


def _image_loader(path: Path) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from saliency_cam.realtime.io.images import load_image

        return load_image(path)

    return load


def _video_items(path: Path, stem: str, every: float) -> list[Item]:
    """One item per sampled frame; the frames are decoded once, when first needed."""
    digest = sha256_file(path)
    frames: dict[int, np.ndarray] = {}
    times = _sample_times(path, every)

    def loader(index: int) -> Callable[[], np.ndarray]:
        def load() -> np.ndarray:
            if not frames:
                frames.update(_decode_samples(path, every))
            return frames.pop(index)

        return load

    return [
        Item(f"{stem}/frame_{i:06d}", f"{path}#t={t:.3f}", f"{digest}:{i}:{every}", loader(i))
        for i, t in enumerate(times)
    ]


def _sample_times(path: Path, every: float) -> list[float]:
    return [t for t, _ in _iter_samples(path, every, keep=False)]


def _decode_samples(path: Path, every: float) -> dict[int, np.ndarray]:
    return {i: image for i, (_, image) in enumerate(_iter_samples(path, every, keep=True))}


def _iter_samples(path: Path, every: float, keep: bool) -> Iterator[tuple[float, Any]]:
    """(time, frame or None) of the first frame at or after 0, every, 2·every … s."""
    from saliency_cam.realtime.io.video import iter_stamped_frames

    next_time = 0.0
    for image, stamp in iter_stamped_frames(path):
        if stamp + 1e-6 >= next_time:
            yield stamp, (image if keep else None)
            next_time = stamp + every


def _limit(image: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    side = max(image.shape[:2])
    if side <= max_side:
        return image
    scale = max_side / side
    size = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def _array_sha(array: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def teacher_maps(
    teacher: str,
    data: str | os.PathLike[str],
    cache: str | os.PathLike[str],
    *,
    every: float = 1.0,
    max_side: int = MAX_SIDE,
    models_dir: str | os.PathLike[str] | None = None,
    console: Any = None,
) -> dict[str, Any]:
    """Fill ``cache`` with ``teacher``'s maps of ``data`` (module doc); returns what was
    done: ``{"teacher", "teacher_sha256", "images", "computed", "reused", "seconds"}``."""
    import time

    from saliency_cam.realtime.runtime.session import find_variant, open_session

    folder = Path(cache)
    variant = find_variant(teacher, "fp32", models_dir)
    items = list_items(data, every)
    index = _load_index(folder / INDEX)
    # the maps depend on the graph (sha256), the size it runs at and the cached image size
    identity = f"{variant.preset} {variant.height}x{variant.width} {variant.sha256} {max_side}"
    entries: dict[str, dict[str, str]] = (
        index.get("entries", {}) if index.get("identity") == identity else {}
    )
    fresh: dict[str, Any] = {"format": INDEX_FORMAT, "teacher": teacher, "identity": identity}
    fresh |= {"teacher_sha256": variant.sha256, "max_side": max_side, "entries": {}}
    todo = [item for item in items if not _reusable(folder, item, entries.get(item.key))]
    computing = {item.key for item in todo}
    for item in items:
        if item.key not in computing:
            fresh["entries"][item.key] = entries[item.key]
    _drop_others(folder, {item.key for item in items})
    began = time.perf_counter()
    if todo:
        out = console
        if out is not None:
            out.print(
                f"teacher {teacher}: computing {len(todo)} map(s) "
                f"({len(items) - len(todo)} cached) into {folder}",
                markup=False,
            )
        session = open_session(teacher, "fp32", "cpu", models_dir, verify=False)
        for done, item in enumerate(todo, 1):
            image = _limit(item.load(), max_side)
            saliency = np.asarray(session.predict(image), np.float32)
            _write(folder / "stimuli" / f"{item.key}.png", image)
            map_path = folder / "saliency" / f"{item.key}.npy"
            map_path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_output(map_path) as tmp, open(tmp, "wb") as fh:
                np.save(fh, saliency)
            fresh["entries"][item.key] = {
                "source": item.source,
                "sha256": item.sha256,
                "map_sha256": _array_sha(saliency),
            }
            if done % SAVE_EVERY == 0:
                _save_index(folder / INDEX, fresh)
    _save_index(folder / INDEX, fresh)
    return {
        "teacher": teacher,
        "teacher_sha256": variant.sha256,
        "images": len(items),
        "computed": len(todo),
        "reused": len(items) - len(todo),
        "seconds": round(time.perf_counter() - began, 2),
    }


def _reusable(folder: Path, item: Item, entry: dict[str, str] | None) -> bool:
    """True when ``item``'s cached image and map exist and their hashes match."""
    if entry is None or entry.get("sha256") != item.sha256:
        return False
    image = folder / "stimuli" / f"{item.key}.png"
    saliency = folder / "saliency" / f"{item.key}.npy"
    if not image.is_file() or not saliency.is_file():
        return False
    try:
        return _array_sha(np.load(saliency)) == entry.get("map_sha256")
    except (OSError, ValueError):
        return False


def _drop_others(folder: Path, keys: set[str]) -> None:
    """Delete cached files of images no longer in the data (they would be trained on)."""
    for sub, suffix in (("stimuli", ".png"), ("saliency", ".npy")):
        base = folder / sub
        if not base.is_dir():
            continue
        for path in base.rglob(f"*{suffix}"):
            key = path.relative_to(base).with_suffix("").as_posix()
            if key not in keys:
                path.unlink(missing_ok=True)


def _write(path: Path, image: np.ndarray) -> None:
    import cv2

    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", image)
    if not ok:
        raise InputError(f"cannot encode {path.name}")
    with atomic_output(path) as tmp:
        Path(tmp).write_bytes(data.tobytes())


def _load_index(path: Path) -> dict[str, Any]:
    try:
        return json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        return {}  # a damaged index only costs recomputing the maps


def _save_index(path: Path, index: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(index, indent=2) + "\n")
