"""Eye-tracking ground truth on disk: which files are maps and fixations, how names pair
up (``_fixMap``/``_fixPts`` endings stripped, as the original MSI-Net does), and the
readers for continuous maps, fixation maps and point lists (.mat, .npy, images).

Shared by ``saliency-cam evaluate`` (scoring) and ``saliency-cam train`` (datasets), so
both read the same file the same way. OpenCV and SciPy are imported only when a file is
read.

>>> index = index_folder("fixations", FIXATION_SUFFIXES)     # doctest: +SKIP
>>> read_fixations(index.files["img1"]).count                 # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from saliency_cam.models import media, metrics
from saliency_cam.models.errors import InputError, SaliencyCamError
from saliency_cam.models.install import install_command

# In preference order: when one name has several files, the first listed is used
# (full-precision .npy/.mat before 8-bit images) and the others are reported.
IMAGE_SUFFIXES = tuple(sorted(media.IMAGE_SUFFIXES))
#: Continuous maps (predictions and ground-truth saliency maps).
MAP_SUFFIXES = (".npy", *IMAGE_SUFFIXES)
#: Fixations: fixation points / maps in .mat or .npy, or binary fixation-map images.
FIXATION_SUFFIXES = (".mat", ".npy", *IMAGE_SUFFIXES)
#: Name endings removed before matching: MIT1003's ``<name>_fixPts.jpg`` /
#: ``<name>_fixMap.jpg`` and ``<name>_saliency.png`` as saliency tools often write them.
DEFAULT_STRIP = ("_fixPts", "_fixMap", "_saliency")


@dataclass
class FolderIndex:
    """Files of one folder keyed by their matching name (see :func:`index_folder`)."""

    folder: Path
    files: dict[str, Path]
    duplicates: dict[str, list[Path]] = field(default_factory=dict)
    ignored: list[Path] = field(default_factory=list)


def match_key(relative: Path, strip: Sequence[str] = DEFAULT_STRIP) -> str:
    """The name a file is matched by: its path relative to the folder, POSIX style,
    without extension and without one of the ``strip`` endings.

    >>> match_key(Path("Action/001_fixMap.jpg"))
    'Action/001'
    """
    stem = relative.stem
    for ending in strip:
        if ending and stem.endswith(ending) and len(stem) > len(ending):
            stem = stem[: -len(ending)]
            break
    return relative.with_name(stem).as_posix()


def index_folder(
    folder: str | os.PathLike[str],
    suffixes: Iterable[str],
    strip: Sequence[str] = DEFAULT_STRIP,
) -> FolderIndex:
    """Index ``folder`` recursively (datasets such as CAT2000 use sub-folders).

    Files whose extension is not in ``suffixes`` are listed in ``ignored``; hidden files
    (``.name``, e.g. half-written ``.partial`` outputs) are skipped. When two files share
    a key (``a.png`` and ``a.npy``), the first in ``suffixes`` order wins and all are
    listed in ``duplicates``.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder: pass a directory of files")
    order = [s.lower() for s in suffixes]
    files: dict[str, list[Path]] = {}
    ignored: list[Path] = []
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts) or not path.is_file():
            continue
        if path.suffix.lower() not in order:
            ignored.append(path)
            continue
        files.setdefault(match_key(relative, strip), []).append(path)
    chosen: dict[str, Path] = {}
    duplicates: dict[str, list[Path]] = {}
    for key, paths in files.items():
        paths.sort(key=lambda p: order.index(p.suffix.lower()))
        chosen[key] = paths[0]
        if len(paths) > 1:
            duplicates[key] = paths
    return FolderIndex(root, chosen, duplicates, ignored)


def _imread(path: Path, flags: int) -> np.ndarray:
    import cv2

    try:
        # np.fromfile + imdecode also reads non-ASCII paths on Windows, unlike imread.
        data = np.fromfile(str(path), dtype=np.uint8)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc
    if data.size == 0:  # imdecode asserts (cv2.error) on an empty buffer
        raise InputError(f"cannot read {path}: empty file (0 bytes)")
    try:
        image = cv2.imdecode(data, flags)
    except cv2.error as exc:
        raise InputError(f"cannot read {path}: not an image OpenCV can decode, or damaged") from exc
    if image is None:
        raise InputError(f"cannot read {path}: not an image OpenCV can decode, or damaged")
    return image


def read_image(path: str | os.PathLike[str]) -> np.ndarray:
    """A stimulus as a uint8/uint16 BGR (or grayscale) array, as OpenCV decodes it."""
    import cv2

    return _imread(Path(path), cv2.IMREAD_UNCHANGED)


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read {path}: {exc}") from exc


def read_map(path: str | os.PathLike[str]) -> np.ndarray:
    """A continuous map (prediction or ground truth) as a 2-D float64 array.

    Images are read at full bit depth; colour images are converted to grayscale. A
    ``.npy`` must hold a 2-D array (a trailing axis of 1 is dropped).
    """
    import cv2

    path = Path(path)
    if path.suffix.lower() == ".npy":
        arr = _load_npy(path)
    else:
        arr = _imread(path, cv2.IMREAD_UNCHANGED)
        if arr.ndim == 3 and arr.shape[2] == 4:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGRA2GRAY)
        elif arr.ndim == 3 and arr.shape[2] == 3:
            arr = cv2.cvtColor(arr, cv2.COLOR_BGR2GRAY)
    if arr.ndim == 3 and arr.shape[2] == 1:
        arr = arr[:, :, 0]
    if arr.ndim != 2 or arr.size == 0 or not np.issubdtype(arr.dtype, np.number):
        raise InputError(f"{path} is not a 2-D map (shape {arr.shape}, dtype {arr.dtype})")
    return arr.astype(np.float64)


def map_shape(path: str | os.PathLike[str]) -> tuple[int, int]:
    """(H, W) of a map or image file without decoding its pixels."""
    path = Path(path)
    if path.suffix.lower() == ".npy":
        try:
            return tuple(np.load(path, mmap_mode="r", allow_pickle=False).shape[:2])  # type: ignore[return-value]
        except (OSError, ValueError) as exc:
            raise InputError(f"cannot read {path}: {exc}") from exc
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as image:
            return (image.height, image.width)
    except (OSError, UnidentifiedImageError):
        return read_map(path).shape  # type: ignore[return-value]  # OpenCV reads more formats


@dataclass
class Fixations:
    """Fixations as read from a file: a binary ``mask`` or (x, y) ``points`` (0-based,
    in pixels of an image of ``shape`` when the file says so)."""

    mask: np.ndarray | None = None
    points: np.ndarray | None = None
    shape: tuple[int, int] | None = None

    def to_mask(self, shape: tuple[int, int] | None, path: Path) -> np.ndarray:
        """A boolean map at ``shape`` (the ground truth's size; ``None``: the file's own)."""
        if self.mask is not None:
            if shape is not None and self.mask.shape != tuple(shape):
                raise InputError(
                    f"{path}: fixation map is {self.mask.shape[0]}x{self.mask.shape[1]} but "
                    f"the saliency map is {shape[0]}x{shape[1]}: give both at the same size"
                )
            return self.mask
        target = shape or self.shape
        if target is None:
            raise InputError(f"{path}: fixation points without an image size")
        assert self.points is not None
        return metrics.fixation_map(self.points, target, source_shape=self.shape)


def _mask_from_image(image: np.ndarray) -> np.ndarray:
    # Half the maximum: robust to JPEG noise in 0/255 maps, and works for 0/1 PNGs.
    top = float(image.max())
    return image > top / 2 if top > 0 else np.zeros(image.shape, dtype=bool)


def _points_array(values: np.ndarray) -> bool:
    return values.ndim == 2 and values.shape[1] == 2 and values.shape[0] != 0


def _from_mat(path: Path) -> Fixations:
    try:
        from scipy.io import loadmat
    except ImportError as exc:
        raise SaliencyCamError(
            f"reading {path.name} needs scipy: {install_command('evaluate')}"
        ) from exc
    try:
        data = loadmat(str(path))
    except Exception as exc:  # scipy raises several untyped errors for bad files
        raise InputError(f"cannot read {path}: {exc}") from exc
    shape = None
    if "resolution" in data and np.asarray(data["resolution"]).size == 2:
        height, width = np.asarray(data["resolution"]).ravel()[:2]
        shape = (int(height), int(width))
    gaze = data.get("gaze")
    if gaze is not None and gaze.dtype.names and "fixations" in gaze.dtype.names:
        # SALICON: one struct per observer, 'fixations' is N x 2 (x, y), 1-based.
        pts = [np.asarray(g["fixations"], float).reshape(-1, 2) for g in gaze.ravel()]
        return Fixations(points=np.concatenate(pts) - 1 if pts else np.zeros((0, 2)), shape=shape)
    arrays = {
        k: np.asarray(v)
        for k, v in data.items()
        if not k.startswith("__") and np.issubdtype(np.asarray(v).dtype, np.number)
    }
    maps = {
        k: v
        for k, v in arrays.items()
        if v.ndim == 2 and not _points_array(v) and k != "resolution"
    }
    if maps:
        # e.g. CAT2000 FIXATIONLOCS: 'fixLocs', a binary map at the image's size
        key = "fixLocs" if "fixLocs" in maps else sorted(maps)[0]
        return Fixations(mask=maps[key] != 0)
    points = {k: v for k, v in arrays.items() if _points_array(v)}
    if points:
        key = sorted(points)[0]
        return Fixations(points=points[key].astype(float) - 1, shape=shape)  # MATLAB: 1-based
    raise InputError(
        f"{path}: no fixations found (expected a SALICON 'gaze' struct, a binary map such as "
        "CAT2000's 'fixLocs', or an N x 2 array of (x, y) points)"
    )


def read_fixations(path: str | os.PathLike[str]) -> Fixations:
    """Fixations from a file, in the layouts public datasets use.

    * image (``.png``, ``.jpg`` …): a binary fixation map; pixels above half the
      maximum are fixated (tolerates JPEG noise around 0/255).
    * ``.npy``: an (N, 2) array of 0-based (x, y) points, or a 2-D binary map.
    * ``.mat``: a SALICON ``gaze`` struct (observers' ``fixations``, 1-based x, y; the
      image size from ``resolution``), a 2-D binary map (CAT2000 ``fixLocs``), or an
      (N, 2) array of 1-based (x, y) points (MATLAB convention). Needs scipy.
    """
    import cv2

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".mat":
        return _from_mat(path)
    if suffix == ".npy":
        arr = _load_npy(path)
        if _points_array(arr) and np.issubdtype(arr.dtype, np.number):
            return Fixations(points=arr.astype(float))
        if arr.ndim == 2 and arr.size:
            return Fixations(mask=arr != 0)
        raise InputError(f"{path}: expected (N, 2) points or a 2-D map, got shape {arr.shape}")
    image = _imread(path, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_ANYDEPTH)
    return Fixations(mask=_mask_from_image(image))


# --------------------------------------------------------------------------- scoring
