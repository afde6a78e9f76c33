"""Eye-tracking video + gaze CSV → a training (and evaluation) folder.

Wearable and screen-based trackers (Tobii, Pupil, SMI …) export the scene video and a
table of gaze samples. Expected CSV columns (header row; ``--columns`` maps other
names onto these, e.g. ``timestamp=Recording timestamp,x=Gaze point X``):

=============  ==========================================================
``timestamp``  time of the sample from the start of the video (``time_unit``: s, ms, us)
``x``, ``y``   gaze position in video pixels (0-based); values all within 0..1 are
               taken as normalised coordinates and scaled to the frame
``participant``  optional: who looked (several participants share the map)
``fixation``   optional: keep only rows marked as fixations (1/true/yes/fixation)
=============  ==========================================================

A frame is sampled every ``every`` seconds; its ground truth is every gaze sample of
all participants within ± ``window`` seconds of it (fixations only when the column or
a ``velocity`` threshold in px/s says so). The output folder holds
``stimuli/frame_<ms>.png`` and ``fixations/frame_<ms>.npy`` ((N, 2) x, y points): the
training reader blurs them into maps, and ``saliency-cam evaluate --fixations`` reads
the same files.

>>> folder = prepare_gaze_video(Path("drive.mp4"), Path("gaze.csv"))  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from saliency_cam.export.training.datasets.folder import not_utf8
from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import InputError

COLUMNS = ("timestamp", "x", "y", "participant", "fixation")
REQUIRED = ("timestamp", "x", "y")
TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
FIXATION_WORDS = {"1", "true", "yes", "fixation", "y"}


@dataclass
class Gaze:
    """Gaze samples: times (s), x, y (pixels or normalised), participant labels."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    participant: np.ndarray


def parse_columns(mapping: str | None) -> dict[str, str]:
    """``"timestamp=Recording timestamp,x=Gaze X"`` → our column name → theirs."""
    out = {name: name for name in COLUMNS}
    for part in (mapping or "").split(","):
        if not part.strip():
            continue
        ours, sep, theirs = part.partition("=")
        if not sep or ours.strip() not in COLUMNS:
            raise InputError(
                f"--columns {part.strip()!r}: write OURS=THEIRS with OURS one of "
                f"{', '.join(COLUMNS)}"
            )
        out[ours.strip()] = theirs.strip()
    return out


def read_gaze_csv(
    path: Path, columns: str | None = None, *, time_unit: str = "s", velocity: float | None = None
) -> Gaze:
    """Read and filter the gaze table (see the module doc)."""
    names = parse_columns(columns)
    if time_unit not in TIME_UNITS:
        raise InputError(f"unknown time unit {time_unit!r}: use s, ms or us")
    rows: list[tuple[float, float, float, str]] = []
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            sample = fh.read(4096)
            fh.seek(0)
            dialect = csv.Sniffer().sniff(sample, delimiters=",;\t") if sample else csv.excel
            reader = csv.DictReader(fh, dialect=dialect)
            header = reader.fieldnames or []
            missing = [names[c] for c in REQUIRED if names[c] not in header]
            if missing:
                raise InputError(
                    f"{path}: no column(s) {', '.join(missing)} (has: {', '.join(header[:8])}); "
                    "map yours with --columns timestamp=…,x=…,y=…"
                )
            has_fix = names["fixation"] in header
            has_who = names["participant"] in header
            for row in reader:
                if has_fix and str(row[names["fixation"]]).strip().lower() not in FIXATION_WORDS:
                    continue
                try:
                    t, x, y = (float(row[names[c]]) for c in REQUIRED)
                except (TypeError, ValueError):
                    continue  # trackers leave x/y empty when the eye is lost
                who = row[names["participant"]] if has_who else ""
                rows.append((t * TIME_UNITS[time_unit], x, y, who))
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    if not rows:
        raise InputError(f"{path}: no usable gaze samples (all rows empty or filtered out)")
    t, x, y, who = zip(*rows, strict=True)
    gaze = Gaze(np.array(t), np.array(x), np.array(y), np.array(who, dtype=object))
    return velocity_filter(gaze, velocity) if velocity else gaze


def velocity_filter(gaze: Gaze, threshold: float) -> Gaze:
    """I-VT: keep the samples whose speed to the previous sample of the same participant
    is below ``threshold`` (px/s, or normalised units/s for normalised data)."""
    keep = np.zeros(len(gaze.t), bool)
    for who in np.unique(gaze.participant):
        idx = np.flatnonzero(gaze.participant == who)
        idx = idx[np.argsort(gaze.t[idx], kind="stable")]
        dt = np.diff(gaze.t[idx])
        dist = np.hypot(np.diff(gaze.x[idx]), np.diff(gaze.y[idx]))
        speed = np.where(dt > 0, dist / np.where(dt > 0, dt, 1), np.inf)
        keep[idx[1:]] = speed < threshold
    return Gaze(gaze.t[keep], gaze.x[keep], gaze.y[keep], gaze.participant[keep])


def points_near(gaze: Gaze, time: float, window: float, shape: tuple[int, int]) -> np.ndarray:
    """(N, 2) pixel points of every sample within ± ``window`` s of ``time``."""
    near = np.abs(gaze.t - time) <= window + 1e-9  # ms→s rounding must not drop an edge
    x, y = gaze.x[near], gaze.y[near]
    if gaze.x.size and max(np.abs(gaze.x).max(), np.abs(gaze.y).max()) <= 1.0:
        x, y = x * shape[1], y * shape[0]  # normalised coordinates
    return np.stack([x, y], axis=1) if x.size else np.zeros((0, 2))


def prepare_gaze_video(
    video: Path,
    gaze_csv: Path,
    out_dir: str | os.PathLike[str] | None = None,
    *,
    columns: str | None = None,
    every: float = 1.0,
    window: float = 0.5,
    time_unit: str = "s",
    velocity: float | None = None,
    console: Any = None,
) -> Path:
    """Sample ``video`` every ``every`` s and write frames + gaze points (module doc) to
    ``out_dir`` (default ``<video>_gaze/`` next to it); frames without any gaze inside
    their window are skipped. Returns the folder (the blur happens when it is read, with
    the training's ``--sigma``)."""
    import cv2

    video = Path(video)
    if not video.is_file():
        raise InputError(f"{video} does not exist")
    gaze = read_gaze_csv(Path(gaze_csv), columns, time_unit=time_unit, velocity=velocity)
    folder = Path(out_dir) if out_dir else video.with_name(f"{video.stem}_gaze")
    (folder / "stimuli").mkdir(parents=True, exist_ok=True)
    (folder / "fixations").mkdir(parents=True, exist_ok=True)
    capture = cv2.VideoCapture(str(video))
    if not capture.isOpened():
        raise InputError(f"cannot open {video} as a video")
    fps = capture.get(cv2.CAP_PROP_FPS) or 0.0
    if fps <= 0:
        capture.release()
        raise InputError(f"{video}: the frame rate is unknown; cannot align gaze times")
    written: set[str] = set()
    next_time = 0.0
    index = 0
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            time = index / fps
            index += 1
            if time + 0.5 / fps < next_time:
                continue
            next_time += every
            points = points_near(gaze, time, window, frame.shape[:2])
            if not len(points):
                continue
            stem = f"frame_{round(time * 1000):08d}"
            with atomic_output(folder / "stimuli" / f"{stem}.png") as tmp:
                ok, data = cv2.imencode(".png", frame)
                tmp.write_bytes(data.tobytes())
            with atomic_output(folder / "fixations" / f"{stem}.npy") as tmp, open(tmp, "wb") as fh:
                np.save(fh, points.astype(np.float64))
            written.add(stem)
    finally:
        capture.release()
    # frames an earlier run wrote (another --every, --window or gaze file) and this one
    # did not would otherwise be trained on as if they were this run's samples
    for sub, suffix in (("stimuli", ".png"), ("fixations", ".npy")):
        for old in (folder / sub).glob(f"frame_*{suffix}"):
            if old.stem not in written:
                old.unlink()
    if not written:
        raise InputError(
            f"no frame of {video} has gaze within ±{window} s: check the timestamp column and "
            "--time-unit (the first sample is at "
            f"{gaze.t.min():.3f} s, the video lasts {index / fps:.1f} s)"
        )
    if console is not None:
        console.print(f"{len(written)} frames with gaze written to {folder}", markup=False)
    return folder
