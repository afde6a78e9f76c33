"""Read a training data folder in the original layout and check it before training.

Layout (the original repository's, and what every downloader here produces)::

    DATA/stimuli/…        images (png/jpg/jpeg…, found recursively, sorted)
    DATA/saliency/…       continuous maps (images or .npy), optional
    DATA/fixations/…      binary fixation maps (images), or .mat/.npy points, optional
    DATA/fixations.csv    or one CSV of ``image,x,y[,observer]`` (pixels, 0-based)

At least one kind of ground truth is needed; a saliency map is used when present,
else the fixations are blurred into one (:mod:`..density`). Names match as the
original's do: the path below the folder without extension, ``_fixMap``/``_fixPts``
stripped (``a.jpg`` ↔ ``a_fixMap.jpg``). Every problem (a stimulus without ground
truth, ground truth without a stimulus, a map that cannot line up with its picture) is
collected and reported at once, before anything trains. An unreadable file only costs
its sample: it is skipped with a warning, and the run stops only when more than
``max_bad`` files are unreadable (:class:`BadFiles`; also those found unreadable once
training decodes them, e.g. a truncated download whose header still reads).

>>> data = read_folder("my_study")  # doctest: +SKIP
>>> len(data.samples), data.samples[0].key  # doctest: +SKIP
"""

from __future__ import annotations

import csv
import os
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from saliency_cam.export.training.density import density_from_mask, density_map

# Ground-truth readers and name matching are shared with 'evaluate' (models/groundtruth).
from saliency_cam.models import groundtruth
from saliency_cam.models.errors import InputError

STIMULI, SALIENCY, FIXATIONS, FIXATIONS_CSV = "stimuli", "saliency", "fixations", "fixations.csv"
#: Columns of a fixations CSV (``observer`` is optional and only informative).
CSV_COLUMNS = ("image", "x", "y")


class DataError(InputError):
    """The training data has problems; ``problems`` lists every offending file."""

    def __init__(
        self, root: Path, problems: list[str], hint: str = "", outcome: str = "nothing was trained"
    ) -> None:
        self.problems = problems
        shown = "; ".join(problems[:8]) + (
            f"; and {len(problems) - 8} more" if len(problems) > 8 else ""
        )
        super().__init__(f"{len(problems)} problem(s) in {root}, {outcome}{hint}: {shown}")


#: Unreadable files a training run skips (each named in a warning) before it stops:
#: a few damaged downloads should not cost a day's run, many mean a wrong folder.
DEFAULT_MAX_BAD = 10


class BadFiles:
    """The unreadable files of a data folder: found by :func:`read_folder` (the header
    cannot be read) or while training decodes them (the pixels cannot). Each one's
    sample is skipped; :attr:`exceeded` once there are more than ``limit``.
    Thread-safe: tf.data decodes in parallel. ``warn`` is called once per new file."""

    def __init__(
        self, limit: int = DEFAULT_MAX_BAD, warn: Callable[[str], None] | None = None
    ) -> None:
        self.limit = limit
        self.warn = warn
        self.files: dict[Path, str] = {}  # path -> why it cannot be read
        self._lock = threading.Lock()

    def add(self, path: Path, reason: str) -> None:
        """Record ``path`` as unreadable (warning once, naming it)."""
        with self._lock:
            if path in self.files:
                return
            self.files[path] = reason
            count = len(self.files)
        if self.warn is not None:
            self.warn(
                f"warning: skipped {path} ({reason}); {count} unreadable file(s) so far, "
                f"the run stops past --max-bad {self.limit}"
            )

    def __contains__(self, path: object) -> bool:
        return path in self.files

    def __len__(self) -> int:
        return len(self.files)

    @property
    def exceeded(self) -> bool:
        return len(self.files) > self.limit

    def lines(self) -> list[str]:
        return [f"cannot read {path} ({reason})" for path, reason in self.files.items()]

    def too_many(self, root: Path, outcome: str = "nothing was trained") -> DataError:
        """The error once more than ``limit`` files are unreadable."""
        return DataError(
            root,
            self.lines(),
            f" (more than --max-bad {self.limit} unreadable files: repair or remove them, "
            "or raise --max-bad)",
            outcome,
        )


@dataclass
class Sample:
    """One stimulus and its ground truth (a map file, a fixation file and/or points)."""

    key: str
    image: Path
    saliency: Path | None = None
    fixations: Path | None = None
    points: np.ndarray | None = None

    @property
    def files(self) -> tuple[Path, ...]:
        """The files this sample reads (its stimulus and ground-truth files)."""
        return tuple(p for p in (self.image, self.saliency, self.fixations) if p is not None)

    @property
    def category(self) -> str:
        """The sub-folder of the stimulus (CAT2000's categories, SALICON's train/val)."""
        return self.key.split("/", 1)[0] if "/" in self.key else ""


@dataclass
class FolderData:
    """All samples of a data folder, sorted by key."""

    root: Path
    samples: list[Sample]
    shapes: dict[str, tuple[int, int]] = field(default_factory=dict)
    #: unreadable files (their samples are not in ``samples``, or are skipped in training)
    bad: BadFiles = field(default_factory=BadFiles)

    def has_fixations(self) -> bool:
        return all(s.fixations is not None or s.points is not None for s in self.samples)


def read_fixations_csv(path: Path) -> dict[str, np.ndarray]:
    """``image,x,y[,observer]`` rows → ``{match key: (N, 2) points}``."""
    points: dict[str, list[tuple[float, float]]] = {}
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            missing = [c for c in CSV_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(
                    f"{path}: missing column(s) {', '.join(missing)}; expected a header "
                    "image,x,y[,observer] (pixels, 0-based)"
                )
            for line, row in enumerate(reader, start=2):
                try:
                    xy = (float(row["x"]), float(row["y"]))
                except (TypeError, ValueError) as exc:
                    raise InputError(f"{path} line {line}: x and y must be numbers") from exc
                key = groundtruth.match_key(Path(row["image"].strip()))
                points.setdefault(key, []).append(xy)
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    except UnicodeDecodeError as exc:
        raise not_utf8(path, exc) from exc
    return {key: np.asarray(value, np.float64) for key, value in points.items()}


def not_utf8(path: Path, exc: UnicodeDecodeError) -> InputError:
    """The line for a CSV that is not UTF-8 text (a spreadsheet's ANSI/Latin-1 export,
    a UTF-16 tracker export): which byte, and how to save it."""
    return InputError(
        f"{path} is not UTF-8 text (it has the byte 0x{exc.object[exc.start]:02x}): "
        "save it as UTF-8 (in a spreadsheet: 'CSV UTF-8')"
    )


def read_folder(
    root: str | os.PathLike[str],
    *,
    check_images: bool = True,
    max_bad: int = DEFAULT_MAX_BAD,
) -> FolderData:
    """Index ``root`` (layout above), pair files by name and check them all.

    Raises :class:`DataError` listing every stimulus without ground truth, every map or
    fixation file without a stimulus and every map that cannot line up with its
    picture, and with them every file that cannot be read (with ``check_images``: the
    image header is read for each, which also gives the sizes). Unreadable files alone
    are not fatal up to ``max_bad``: their samples are left out and the files are in
    the result's :attr:`FolderData.bad`.
    """
    root = Path(root)
    stimuli = _index_stimuli(root)
    truth = _index_truth(root)
    samples, problems = _pair_samples(stimuli, truth)
    if not stimuli.files:
        problems.append(f"no images in {root / STIMULI}")
    shapes: dict[str, tuple[int, int]] = {}
    bad = BadFiles(max_bad)
    if check_images:
        shapes, mismatches = _read_sizes(samples, bad)
        problems += mismatches
    if problems:  # a layout mistake: fix everything at once, the unreadable files too
        raise DataError(root, problems + bad.lines())
    if bad.exceeded:
        raise bad.too_many(root)
    usable = [s for s in samples if not any(p in bad for p in s.files)]
    return FolderData(root, usable, shapes, bad)


@dataclass
class _Truth:
    """The ground truth of a data folder by match key: saliency map files, fixation
    files and points from the fixations CSV (each empty when the folder has none)."""

    maps: dict[str, Path]
    fixations: dict[str, Path]
    points: dict[str, np.ndarray]

    def keys(self) -> set[str]:
        """Every key some ground truth is given for."""
        return set(self.maps) | set(self.fixations) | set(self.points)


def _index_stimuli(root: Path) -> groundtruth.FolderIndex:
    """The stimuli of ``root`` by match key; a folder without ``stimuli/`` is refused
    with the expected layout."""
    stimuli_dir = root / STIMULI
    if not stimuli_dir.is_dir():
        raise InputError(
            f"{root} has no {STIMULI}/ folder: expected {STIMULI}/ with {SALIENCY}/ and/or "
            f"{FIXATIONS}/ (or {FIXATIONS_CSV}) next to it"
        )
    return groundtruth.index_folder(stimuli_dir, groundtruth.IMAGE_SUFFIXES)


def _index_truth(root: Path) -> _Truth:
    """Every kind of ground truth ``root`` has; refused when it has none at all (an
    empty ``saliency/`` or ``fixations/`` folder still counts: its stimuli are then
    named one by one as having no ground truth)."""
    maps = (
        groundtruth.index_folder(root / SALIENCY, groundtruth.MAP_SUFFIXES)
        if (root / SALIENCY).is_dir()
        else None
    )
    fixations = (
        groundtruth.index_folder(root / FIXATIONS, groundtruth.FIXATION_SUFFIXES)
        if (root / FIXATIONS).is_dir()
        else None
    )
    csv_points = (
        read_fixations_csv(root / FIXATIONS_CSV) if (root / FIXATIONS_CSV).is_file() else {}
    )
    if maps is None and fixations is None and not csv_points:
        raise InputError(
            f"{root} has no ground truth: add {SALIENCY}/ (maps), {FIXATIONS}/ (fixation "
            f"maps or points) or {FIXATIONS_CSV} (image,x,y[,observer])"
        )
    return _Truth(maps.files if maps else {}, fixations.files if fixations else {}, csv_points)


def _pair_samples(
    stimuli: groundtruth.FolderIndex, truth: _Truth
) -> tuple[list[Sample], list[str]]:
    """One sample per stimulus with ground truth (sorted by key), and a problem line for
    each stimulus without any and each piece of ground truth without a stimulus."""
    problems: list[str] = []
    keys = truth.keys()
    samples = []
    for key, image in sorted(stimuli.files.items()):
        if key not in keys:
            problems.append(f"no map or fixations for {image}")
            continue
        samples.append(
            Sample(key, image, truth.maps.get(key), truth.fixations.get(key), truth.points.get(key))
        )
    for key in sorted(keys - set(stimuli.files)):
        where = truth.maps.get(key) or truth.fixations.get(key) or f"{FIXATIONS_CSV} image {key}"
        problems.append(f"no stimulus for {where}")
    return samples, problems


def _read_sizes(
    samples: list[Sample], bad: BadFiles
) -> tuple[dict[str, tuple[int, int]], list[str]]:
    """Read the header of every image file of ``samples``: the stimuli's sizes by key,
    and a problem line for each ground-truth file that cannot line up with its stimulus.
    A file whose header cannot be read goes into ``bad`` (.mat files are not images)."""
    shapes: dict[str, tuple[int, int]] = {}
    problems: list[str] = []
    for sample in samples:
        sizes: dict[Path, tuple[int, int]] = {}
        for path in (sample.image, sample.saliency, sample.fixations):
            if path is None or path.suffix.lower() == ".mat":
                continue
            try:
                shape = groundtruth.map_shape(path)
            except InputError as exc:
                bad.add(path, unreadable_reason(exc, path))
                continue
            sizes[path] = shape
            if path == sample.image:
                shapes[sample.key] = shape
            else:
                problems += _size_problems(path, shape, sample, sizes)
    return shapes, problems


def unreadable_reason(exc: InputError, path: Path) -> str:
    """Why ``path`` cannot be read, without the ``cannot read PATH:`` the readers add."""
    text = str(exc)
    prefix = f"cannot read {path}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


#: How far a saliency map's aspect ratio may differ from its stimulus's (rounding of a
#: map stored at a smaller scale) before it counts as another picture.
ASPECT_TOLERANCE = 0.02


def _size_problems(
    path: Path, shape: tuple[int, int], sample: Sample, sizes: dict[Path, tuple[int, int]]
) -> list[str]:
    """A ground-truth file that cannot line up with its stimulus, found before training
    rather than in the middle of it: a saliency map of another aspect ratio (letterboxed
    differently from the image: every target shifted), or a fixation map (image file) of
    another size than the ground truth it scores against (the saliency map when there is
    one, else the stimulus; :func:`target_map` and :func:`fixation_mask` refuse it, but
    only once training runs). ``sizes``: the sizes read so far of this sample's files."""
    image = sizes.get(sample.image)
    if image is None:
        return []
    if path == sample.saliency:
        if abs(shape[1] * image[0] / (shape[0] * image[1]) - 1.0) > ASPECT_TOLERANCE:
            return [
                f"{path} is {shape[0]}x{shape[1]} but {sample.image.name} is "
                f"{image[0]}x{image[1]} (another aspect ratio)"
            ]
        return []  # the same picture at another scale: resized like the image
    if path.suffix.lower() == ".npy":  # .npy fixations may be points (N x 2)
        return []
    truth = sizes.get(sample.saliency) if sample.saliency is not None else image
    if truth is None or shape == truth:
        return []
    other = sample.saliency.name if sample.saliency is not None else sample.image.name
    return [f"{path} is {shape[0]}x{shape[1]} but {other} is {truth[0]}x{truth[1]}"]


def target_map(sample: Sample, sigma: float | None = None) -> np.ndarray:
    """The ground-truth map of ``sample`` at its stimulus's size, float32 ≥ 0.

    A saliency map is used as it is; otherwise fixations (a binary map, points from a
    .mat/.npy file or the CSV) are blurred with σ = ``sigma`` px (None: the documented
    default, :func:`..density.default_sigma`). A map with no salient pixel (all zero:
    the KLD loss, which normalises the map by its sum, is 0 for it whatever the model
    predicts) is used but named in a warning on stderr, once per file."""
    truth = _read_target(sample, sigma)
    if not np.any(truth > 0):
        _warn_empty(ground_truth_name(sample))
    return truth


def ground_truth_name(sample: Sample) -> str:
    """The file (or CSV rows) that ``sample``'s ground truth comes from."""
    if sample.saliency is not None:
        return str(sample.saliency)
    if sample.points is not None:
        return f"{FIXATIONS_CSV} rows of image {sample.key}"
    return str(sample.fixations)


_warned: set[str] = set()
_warned_lock = threading.Lock()


def _warn_empty(name: str) -> None:
    # load_example runs in tf.data's threads and again every epoch: one line per file
    with _warned_lock:
        if name in _warned:
            return
        _warned.add(name)
    sys.stderr.write(
        f"warning: {name}: the ground-truth map is all zero (no salient pixel): it "
        "teaches nothing (its loss is 0 whatever the model predicts); fix or remove it\n"
    )


def _read_target(sample: Sample, sigma: float | None) -> np.ndarray:
    """:func:`target_map` without the empty-map warning."""
    if sample.saliency is not None:
        return groundtruth.read_map(sample.saliency).astype(np.float32)
    shape = groundtruth.map_shape(sample.image)
    if sample.points is not None:
        return density_map(sample.points, shape, sigma)
    assert sample.fixations is not None
    fix = groundtruth.read_fixations(sample.fixations)
    if fix.mask is not None:
        if fix.mask.shape != shape:
            raise InputError(
                f"{sample.fixations}: fixation map is {fix.mask.shape[0]}x{fix.mask.shape[1]} "
                f"but {sample.image.name} is {shape[0]}x{shape[1]}"
            )
        return density_from_mask(fix.mask, sigma)
    points = np.asarray(fix.points, np.float64)
    if fix.shape is not None and fix.shape != shape:
        # points recorded on a differently sized screen: scale them onto the stimulus
        points = points * [shape[1] / fix.shape[1], shape[0] / fix.shape[0]]
    return density_map(points, shape, sigma)


def fixation_mask(sample: Sample, shape: tuple[int, int]) -> np.ndarray | None:
    """The sample's fixations as a boolean map of ``shape`` (its stimulus's size), or
    None when it has only a saliency map (then NSS and AUC cannot be scored)."""
    from saliency_cam.models.metrics import fixation_map

    if sample.points is not None:
        return fixation_map(sample.points, shape)
    if sample.fixations is None:
        return None
    return groundtruth.read_fixations(sample.fixations).to_mask(shape, sample.fixations)
