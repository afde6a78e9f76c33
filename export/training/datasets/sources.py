"""The seven original datasets: where each is published, and how its archives become
the original ``stimuli/ saliency/ fixations/`` layout (docs/design.md §10; the original
repository's ``download.py`` is the reference for every conversion).

Downloads go through the project's download layer (resumable ``.part`` files, retries,
never a half file under the final name; sha256 checked where a digest is known —
these datasets publish none). ``$SALIENCY_CAM_DATASETS_BASE_URL`` replaces every
original host with a mirror serving ``<base>/<dataset>/<archive file name>`` (tests,
institutional mirrors); SALICON's archives otherwise come from Google Drive through
gdown. Conversion happens in a hidden staging folder renamed into place at the end,
so ``<data dir>/<dataset>`` either is complete or does not exist.

>>> download_dataset("mit1003", "~/data")  # doctest: +SKIP
PosixPath('/home/me/data/mit1003')
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from saliency_cam.export.training.density import blur
from saliency_cam.models.errors import DownloadError, SaliencyCamError

DATASETS_BASE_URL_ENV = "SALIENCY_CAM_DATASETS_BASE_URL"
DOWNLOADS = ".downloads"


@dataclass(frozen=True)
class Archive:
    """One published archive: its file name, original URL or Drive id, digest if known."""

    filename: str
    url: str = ""
    drive_id: str = ""
    sha256: str | None = None


Converter = Callable[[dict[str, Path], Path], None]


@dataclass(frozen=True)
class DatasetSource:
    name: str
    archives: tuple[Archive, ...]
    convert: Converter


def default_data_dir() -> Path:
    """Where datasets go without ``--data-dir``: ``<user cache>/saliency-cam/datasets``."""
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("saliency-cam")) / "datasets"


def dataset_folder(name: str, data_dir: str | os.PathLike[str] | None = None) -> Path:
    return (Path(data_dir).expanduser() if data_dir else default_data_dir()) / name


def download_dataset(
    name: str, data_dir: str | os.PathLike[str] | None = None, *, force: bool = False
) -> Path:
    """Download and convert dataset ``name`` into ``<data_dir>/<name>``; a complete
    folder already there is kept (``force`` rebuilds it). Archives are kept in
    ``<data_dir>/.downloads`` so an interrupted run resumes."""
    source = SOURCES.get(name)
    if source is None:
        raise SaliencyCamError(f"unknown dataset {name!r}: choose one of {', '.join(SOURCES)}")
    final = dataset_folder(name, data_dir)
    if (final / "stimuli").is_dir() and not force:
        return final
    downloads = final.parent / DOWNLOADS / name
    files = {a.filename: fetch_archive(name, a, downloads) for a in source.archives}
    staging = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final.parent))
    try:
        for sub in ("stimuli", "saliency", "fixations"):
            (staging / sub).mkdir()
        try:
            source.convert(files, staging)
        except (zipfile.BadZipFile, OSError, KeyError, ValueError, IndexError) as exc:
            # A damaged or unexpected archive: drop it so the next run downloads it again.
            for path in files.values():
                path.unlink(missing_ok=True)
            raise DownloadError(
                f"the {name} archives are damaged or not in the published layout "
                f"({type(exc).__name__}: {exc}); deleted them: run again to download afresh"
            ) from exc
        if not any((staging / "stimuli").rglob("*")):
            raise DownloadError(f"the {name} archives held no stimuli: is the mirror right?")
        if final.exists():
            shutil.rmtree(final)
        os.replace(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def fetch_archive(dataset: str, archive: Archive, folder: Path) -> Path:
    """One archive into ``folder`` (resumable; reused when already complete)."""
    from saliency_cam.export.download import download_file

    dest = folder / archive.filename
    base = os.environ.get(DATASETS_BASE_URL_ENV, "").rstrip("/")
    if base:
        return download_file(f"{base}/{dataset}/{archive.filename}", dest, sha256=archive.sha256)
    if dest.is_file() and zipfile.is_zipfile(dest):
        return dest
    if archive.drive_id:
        from saliency_cam.export.fetchers.drive import fetch_drive_file

        got = fetch_drive_file(archive.drive_id, f"{dataset}-{archive.filename}", archive.filename)
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(got, dest)
        return dest
    return download_file(archive.url, dest, sha256=archive.sha256)


# --------------------------------------------------------------------------- writing


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def _write_map(path: Path, values: np.ndarray) -> None:
    """A map scaled to 0..255 as an 8-bit grayscale PNG (what the original saves)."""
    import cv2

    top = float(values.max())
    scaled = np.zeros(values.shape, np.uint8) if top <= 0 else np.round(255 * values / top)
    path.parent.mkdir(parents=True, exist_ok=True)
    ok, data = cv2.imencode(".png", scaled.astype(np.uint8))
    if not ok:
        raise OSError(f"cannot encode {path.name}")
    path.write_bytes(data.tobytes())


def _points_to_maps(out: Path, stem: str, fixated: np.ndarray, sigma: float) -> None:
    """A binary fixation map and its blurred saliency map (σ px, mirrored borders as
    scipy's gaussian_filter does in the original)."""
    _write_map(out / "fixations" / f"{stem}.png", fixated)
    _write_map(out / "saliency" / f"{stem}.png", blur(fixated, sigma, border="reflect"))


def _members(path: Path) -> list[tuple[PurePosixPath, zipfile.ZipInfo]]:
    with zipfile.ZipFile(path) as archive:
        return [
            (PurePosixPath(i.filename), i)
            for i in archive.infolist()
            if not i.is_dir() and "__MACOSX" not in i.filename and "/._" not in f"/{i.filename}"
        ]


# --------------------------------------------------------------------------- converters


def convert_salicon(files: dict[str, Path], out: Path) -> None:
    """images.zip → stimuli/{train,val}, fixations.zip → fixations/{train,val} (.mat),
    maps.zip → saliency/{train,val}; test is skipped (it has no ground truth)."""
    targets = {"images.zip": "stimuli", "fixations.zip": "fixations", "maps.zip": "saliency"}
    for filename, sub in targets.items():
        with zipfile.ZipFile(files[filename]) as archive:
            for rel, info in _members(files[filename]):
                parts = [p for p in rel.parts if p not in ("images", "fixations", "maps")]
                if len(parts) < 2 or parts[-2] not in ("train", "val"):
                    continue  # test/, readme files
                _write(out / sub / parts[-2] / parts[-1], archive.read(info))


MIT1003_SKIP = "i05june05_static_street_boston_p1010764fixPts.jpg"


def convert_mit1003(files: dict[str, Path], out: Path) -> None:
    """ALLSTIMULI.zip (*.jpeg) → stimuli; ALLFIXATIONMAPS.zip: *fixPts.jpg → fixations,
    *fixMap.jpg → saliency (one stray fixPts file without a stimulus is skipped)."""
    with zipfile.ZipFile(files["ALLSTIMULI.zip"]) as archive:
        for rel, info in _members(files["ALLSTIMULI.zip"]):
            if rel.suffix == ".jpeg":
                _write(out / "stimuli" / rel.name, archive.read(info))
    with zipfile.ZipFile(files["ALLFIXATIONMAPS.zip"]) as archive:
        for rel, info in _members(files["ALLFIXATIONMAPS.zip"]):
            if rel.name.endswith("Pts.jpg") and rel.name != MIT1003_SKIP:
                _write(out / "fixations" / rel.name, archive.read(info))
            elif rel.name.endswith("Map.jpg"):
                _write(out / "saliency" / rel.name, archive.read(info))


def convert_cat2000(files: dict[str, Path], out: Path) -> None:
    """trainSet/Stimuli → stimuli, FIXATIONLOCS → fixations, FIXATIONMAPS → saliency,
    one sub-folder per category (Output and allFixData are skipped)."""
    targets = {"Stimuli": "stimuli", "FIXATIONLOCS": "fixations", "FIXATIONMAPS": "saliency"}
    with zipfile.ZipFile(files["trainSet.zip"]) as archive:
        for rel, info in _members(files["trainSet.zip"]):
            parts = rel.parts
            if "Output" in parts or any("allFixData" in p for p in parts):
                continue
            for i, part in enumerate(parts[:-2]):
                if part in targets:
                    _write(out / targets[part] / Path(*parts[i + 1 :]), archive.read(info))
                    break


def convert_dutomron(files: dict[str, Path], out: Path) -> None:
    """Images → stimuli; each fixation .mat (key ``s``: rows sorted by column 3, the
    first row is the image's width and height, the rest x, y) → a binary fixation map
    and a saliency map blurred with σ = 16 px."""
    from scipy.io import loadmat

    with zipfile.ZipFile(files["DUT-OMRON-image.zip"]) as archive:
        for rel, info in _members(files["DUT-OMRON-image.zip"]):
            if rel.suffix == ".jpg":
                _write(out / "stimuli" / rel.name, archive.read(info))
    with zipfile.ZipFile(files["DUT-OMRON-eye-fixations.zip"]) as archive:
        for rel, info in _members(files["DUT-OMRON-eye-fixations.zip"]):
            if rel.suffix != ".mat":
                continue
            rows = np.asarray(loadmat(io.BytesIO(archive.read(info)))["s"])
            rows = rows[rows[:, 2].argsort(kind="stable")]
            width, height = (int(v) for v in rows[0, :2])
            fixated = np.zeros((height, width), np.float32)
            xs = np.clip(rows[1:, 0].astype(int), 0, width - 1)
            ys = np.clip(rows[1:, 1].astype(int), 0, height - 1)
            fixated[ys, xs] = 1
            _points_to_maps(out, rel.stem, fixated, 16.0)


def convert_pascals(files: dict[str, Path], out: Path) -> None:
    """imgs/pascal/*.jpg → stimuli, pascal/humanFix/*.png → saliency; fixation points
    from pascalFix.mat (HDF5 ``fixCell``: per image 2×N, 1-based row, column) at the
    sizes in pascalSize.mat (``sizeData``) → fixations/<n>.png."""
    import h5py

    fixations: list[np.ndarray] = []
    sizes = np.zeros((0, 2))
    with zipfile.ZipFile(files["salObj.zip"]) as archive:
        for rel, info in _members(files["salObj.zip"]):
            text = rel.as_posix()
            if rel.suffix == ".jpg" and "imgs/pascal" in text:
                _write(out / "stimuli" / rel.name, archive.read(info))
            elif rel.suffix == ".png" and "pascal/humanFix" in text:
                _write(out / "saliency" / rel.name, archive.read(info))
            elif rel.name == "pascalFix.mat":
                with h5py.File(io.BytesIO(archive.read(info)), "r") as h5:
                    refs = np.array(h5["fixCell"])[0]
                    fixations = [np.array(h5[ref]) for ref in refs]
            elif rel.name == "pascalSize.mat":
                with h5py.File(io.BytesIO(archive.read(info)), "r") as h5:
                    sizes = np.transpose(np.array(h5["sizeData"]), (1, 0))
    for index, points in enumerate(fixations):
        height, width = (int(v) for v in sizes[index])
        fixated = np.zeros((height, width), np.float32)
        rows = np.clip(points[0].astype(int) - 1, 0, height - 1)
        cols = np.clip(points[1].astype(int) - 1, 0, width - 1)
        fixated[rows, cols] = 1
        _write_map(out / "fixations" / f"{index + 1}.png", fixated)


OSIE_SHAPE = (600, 800)


def convert_osie(files: dict[str, Path], out: Path) -> None:
    """data/stimuli/*.jpg → stimuli; data/eye/fixations.mat (per image, per subject the
    fixations' x and y, 600×800) → fixations/<1001+i>.png and saliency blurred σ = 16."""
    from scipy.io import loadmat

    with zipfile.ZipFile(files["master.zip"]) as archive:
        for rel, info in _members(files["master.zip"]):
            if rel.suffix == ".jpg" and "data/stimuli" in rel.as_posix():
                _write(out / "stimuli" / rel.name, archive.read(info))
            elif rel.name == "fixations.mat":
                table = loadmat(io.BytesIO(archive.read(info)))["fixations"]
                for index, value in enumerate(table):
                    fixated = np.zeros(OSIE_SHAPE, np.float32)
                    for subject in value[0][0][0][1]:
                        xs = np.asarray(subject[0][0][0][0][0]).astype(int)
                        ys = np.asarray(subject[0][0][0][1][0]).astype(int)
                        fixated[np.clip(ys, 0, 599), np.clip(xs, 0, 799)] = 1
                    _points_to_maps(out, str(1001 + index), fixated, 16.0)


def convert_fiwi(files: dict[str, Path], out: Path) -> None:
    """stimuli/*.png → stimuli; all5/*.png (fixations of all five viewers) → fixations
    and saliency blurred with σ = 30 px."""
    import cv2

    with zipfile.ZipFile(files["webpage_dataset.zip"]) as archive:
        for rel, info in _members(files["webpage_dataset.zip"]):
            text = rel.as_posix()
            if rel.suffix != ".png":
                continue
            if "stimuli" in text:
                _write(out / "stimuli" / rel.name, archive.read(info))
            elif "all5" in text:
                data = np.frombuffer(archive.read(info), np.uint8)
                image = cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)
                if image is None:
                    raise ValueError(f"{rel} is not a readable PNG")
                fixated = (image > image.max() / 2).astype(np.float32)
                _points_to_maps(out, rel.stem, fixated, 30.0)


SOURCES: dict[str, DatasetSource] = {
    "salicon": DatasetSource(
        "salicon",
        (
            Archive("images.zip", drive_id="1g8j-hTT-51IG1UFwP0xTGhLdgIUCW5e5"),
            Archive("fixations.zip", drive_id="0B2hsWbciDVedS1lBZHprdXFoZkU"),
            Archive("maps.zip", drive_id="0B2hsWbciDVedNWJZMlRxeW1PY1U"),
        ),
        convert_salicon,
    ),
    "mit1003": DatasetSource(
        "mit1003",
        (
            Archive(
                "ALLSTIMULI.zip",
                "https://people.csail.mit.edu/tjudd/WherePeopleLook/ALLSTIMULI.zip",
            ),
            Archive(
                "ALLFIXATIONMAPS.zip",
                "https://people.csail.mit.edu/tjudd/WherePeopleLook/ALLFIXATIONMAPS.zip",
            ),
        ),
        convert_mit1003,
    ),
    "cat2000": DatasetSource(
        "cat2000",
        (Archive("trainSet.zip", "http://saliency.mit.edu/trainSet.zip"),),
        convert_cat2000,
    ),
    "dutomron": DatasetSource(
        "dutomron",
        (
            Archive(
                "DUT-OMRON-image.zip",
                "http://saliencydetection.net/dut-omron/download/DUT-OMRON-image.zip",
            ),
            Archive(
                "DUT-OMRON-eye-fixations.zip",
                "http://saliencydetection.net/dut-omron/download/DUT-OMRON-eye-fixations.zip",
            ),
        ),
        convert_dutomron,
    ),
    "pascals": DatasetSource(
        "pascals",
        (Archive("salObj.zip", "http://cbs.ic.gatech.edu/salobj/download/salObj.zip"),),
        convert_pascals,
    ),
    "osie": DatasetSource(
        "osie",
        (
            Archive(
                "master.zip",
                "https://github.com/NUS-VIP/predicting-human-gaze-beyond-pixels/archive/master.zip",
            ),
        ),
        convert_osie,
    ),
    "fiwi": DatasetSource(
        "fiwi",
        (
            Archive(
                "webpage_dataset.zip",
                "https://www.dropbox.com/s/30nxg2uwd1wpb80/webpage_dataset.zip?dl=1",
            ),
        ),
        convert_fiwi,
    ),
}
