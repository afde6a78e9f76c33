"""Each original dataset's downloader against a local server that serves small archives
in that dataset's published layout; damaged, missing and dropped downloads."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import cv2
import numpy as np
import pytest
from http_servers import serve, static_files

from saliency_cam.export.training.datasets.folder import fixation_mask, read_folder, target_map
from saliency_cam.export.training.datasets.sources import (
    DATASETS_BASE_URL_ENV,
    MIT1003_SKIP,
    download_dataset,
)
from saliency_cam.models.errors import DownloadError

scipy_io = pytest.importorskip("scipy.io")
h5py = pytest.importorskip("h5py")


def jpg(h: int = 30, w: int = 40, value: int = 90) -> bytes:
    image = np.full((h, w, 3), value, np.uint8)
    image[5:10, 5:10] = 250
    return cv2.imencode(".jpg", image)[1].tobytes()


def png(array: np.ndarray) -> bytes:
    return cv2.imencode(".png", array)[1].tobytes()


def binary(h: int, w: int, points: list[tuple[int, int]]) -> np.ndarray:
    out = np.zeros((h, w), np.uint8)
    for x, y in points:
        out[y, x] = 255
    return out


def mat(**arrays: object) -> bytes:
    buffer = io.BytesIO()
    scipy_io.savemat(buffer, arrays)
    return buffer.getvalue()


def zipped(files: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def salicon_gaze(points: list[tuple[int, int]]) -> np.ndarray:
    gaze = np.zeros((1, 1), dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
    gaze[0, 0]["fixations"] = np.array(points, float) + 1  # MATLAB 1-based x, y
    gaze[0, 0]["location"] = np.zeros((0, 2))
    gaze[0, 0]["timestamp"] = np.zeros((0, 1))
    return gaze


def salicon() -> dict[str, bytes]:
    images, fixations, maps = {}, {}, {}
    for split, n in (("train", 3), ("val", 2), ("test", 1)):
        for i in range(n):
            stem = f"COCO_{split}2014_{i:012d}"
            images[f"images/{split}/{stem}.jpg"] = jpg()
            if split != "test":
                fixations[f"{split}/{stem}.mat"] = mat(
                    image=stem, resolution=np.array([[30, 40]]), gaze=salicon_gaze([(4, 6)])
                )
                maps[f"{split}/{stem}.png"] = png(binary(30, 40, [(4, 6)]))
    return {
        "images.zip": zipped(images),
        "fixations.zip": zipped(fixations),
        "maps.zip": zipped(maps),
    }


def mit1003() -> dict[str, bytes]:
    names = ["i1001", "i1002", "i1003"]
    stimuli = {f"ALLSTIMULI/{n}.jpeg": jpg() for n in names}
    stimuli["ALLSTIMULI/Thumbs.db"] = b"x"
    maps = {f"ALLFIXATIONMAPS/{n}_fixMap.jpg": jpg(value=30) for n in names}
    maps |= {f"ALLFIXATIONMAPS/{n}_fixPts.jpg": png(binary(30, 40, [(3, 4)])) for n in names}
    maps[f"ALLFIXATIONMAPS/{MIT1003_SKIP}"] = jpg()
    return {"ALLSTIMULI.zip": zipped(stimuli), "ALLFIXATIONMAPS.zip": zipped(maps)}


def cat2000() -> dict[str, bytes]:
    files = {}
    for category in ("Action", "Art"):
        for i in range(1, 6):
            files[f"trainSet/Stimuli/{category}/{i:03d}.jpg"] = jpg()
            files[f"trainSet/FIXATIONLOCS/{category}/{i:03d}.mat"] = mat(
                fixLocs=binary(30, 40, [(i, i)]).astype(float) / 255
            )
            files[f"trainSet/FIXATIONMAPS/{category}/{i:03d}.jpg"] = jpg(value=20)
        files[f"trainSet/Stimuli/{category}/Output/{1:03d}_SaliencyMap.jpg"] = jpg()
    files["trainSet/allFixData.mat"] = mat(x=np.zeros(3))
    return {"trainSet.zip": zipped(files)}


def dutomron() -> dict[str, bytes]:
    images = {f"DUT-OMRON-image/im{i}.jpg": jpg() for i in range(3)}
    images["__MACOSX/DUT-OMRON-image/._im0.jpg"] = b"junk"
    fixations = {}
    for i in range(3):
        rows = np.array([[8, 2 + i, 5, 1], [40, 30, 0, 1], [3, 4, 7, 2]], float)  # unsorted
        fixations[f"DUT-OMRON-eye-fixations/mat/im{i}.mat"] = mat(s=rows)
    return {
        "DUT-OMRON-image.zip": zipped(images),
        "DUT-OMRON-eye-fixations.zip": zipped(fixations),
    }


def pascals() -> dict[str, bytes]:
    files = {f"datasets/imgs/pascal/{i}.jpg": jpg() for i in (1, 2, 3)}
    files |= {
        f"datasets/algmaps/pascal/humanFix/{i}.png": png(binary(30, 40, [(i, i)]))
        for i in (1, 2, 3)
    }
    fix_buffer, size_buffer = io.BytesIO(), io.BytesIO()
    with h5py.File(fix_buffer, "w") as h5:
        refs = []
        for i in (1, 2, 3):
            h5.create_dataset(f"#refs#/{i}", data=np.array([[5.0 + i, 10.0], [7.0, 2.0 * i]]))
            refs.append(h5[f"#refs#/{i}"].ref)
        h5.create_dataset("fixCell", data=np.array([refs], dtype=h5py.ref_dtype))
    with h5py.File(size_buffer, "w") as h5:
        h5.create_dataset("sizeData", data=np.array([[30, 30, 30], [40, 40, 40]], float))
    files["datasets/fixations/pascalFix.mat"] = fix_buffer.getvalue()
    files["datasets/fixations/pascalSize.mat"] = size_buffer.getvalue()
    return {"salObj.zip": zipped(files)}


def osie() -> dict[str, bytes]:
    root = "predicting-human-gaze-beyond-pixels-master/data"
    files = {f"{root}/stimuli/{1001 + i}.jpg": jpg(60, 80) for i in range(3)}
    table = np.empty((3, 1), dtype=object)
    for i in range(3):
        subjects = np.empty((2, 1), dtype=object)
        for s in range(2):
            fix = np.zeros((1, 1), dtype=[("x", "O"), ("y", "O"), ("duration", "O")])
            fix[0, 0]["x"] = np.array([[100.0 + 10 * s + i, 300.0]])
            fix[0, 0]["y"] = np.array([[50.0, 500.0]])
            fix[0, 0]["duration"] = np.array([[200.0, 300.0]])
            subjects[s, 0] = fix
        entry = np.zeros((1, 1), dtype=[("img", "O"), ("subjects", "O")])
        entry[0, 0]["img"] = f"{1001 + i}.jpg"
        entry[0, 0]["subjects"] = subjects
        table[i, 0] = entry
    files[f"{root}/eye/fixations.mat"] = mat(fixations=table)
    files[f"{root}/README.md"] = b"readme"
    return {"master.zip": zipped(files)}


def fiwi() -> dict[str, bytes]:
    files = {}
    for i in range(1, 4):
        files[f"webpage_dataset/stimuli/{i}.png"] = png(np.full((120, 160, 3), 100, np.uint8))
        files[f"webpage_dataset/fixations/all5/{i}.png"] = png(binary(120, 160, [(80, 60)]))
    return {"webpage_dataset.zip": zipped(files)}


PUBLISHED = {
    "salicon": (salicon, 5),
    "mit1003": (mit1003, 3),
    "cat2000": (cat2000, 10),
    "dutomron": (dutomron, 3),
    "pascals": (pascals, 3),
    "osie": (osie, 3),
    "fiwi": (fiwi, 3),
}


def _serve(name: str, archives: dict[str, bytes], **kwargs):
    return serve(static_files({f"/{name}/{k}": v for k, v in archives.items()}, **kwargs))


@pytest.mark.parametrize("name", list(PUBLISHED))
def test_each_dataset_downloads_into_the_original_layout(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    make, count = PUBLISHED[name]
    with _serve(name, make(), drop_first={f"/{name}/{next(iter(make()))}"}) as server:
        monkeypatch.setenv(DATASETS_BASE_URL_ENV, server.url)
        folder = download_dataset(name, tmp_path)
    assert folder == tmp_path / name
    data = read_folder(folder)
    assert len(data.samples) == count
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{name}.")]
    first = data.samples[0]
    truth = target_map(first)
    assert truth.max() > 0
    if name == "salicon":
        assert {s.category for s in data.samples} == {"train", "val"}
        assert fixation_mask(first, (30, 40))[6, 4]
    if name == "cat2000":
        assert {s.category for s in data.samples} == {"Action", "Art"}
        assert fixation_mask(first, (30, 40))[1, 1]  # Action/001: fixLocs at (1, 1)
    if name == "dutomron":
        # size row (40 × 30) sorted first by column 3; fixations at (8, 2) and (3, 4)
        assert fixation_mask(first, (30, 40))[2, 8] and fixation_mask(first, (30, 40))[4, 3]
        assert truth.shape == (30, 40)  # the saliency map is blurred from the same points
    if name == "pascals":
        mask = fixation_mask(first, (30, 40))  # 1-based (row, col) pairs (6, 7) and (10, 2)
        assert mask[5, 6] and mask[9, 1] and mask.sum() == 2
    if name == "osie":
        mask = fixation_mask(first, (600, 800))
        assert mask[50, 100] and mask[50, 110] and mask[500, 300] and mask.sum() == 3
    if name == "fiwi":
        assert fixation_mask(first, (120, 160))[60, 80]
        assert truth[60, 80] == truth.max() == 255 and truth[0, 0] < 255  # blurred σ 30


def test_a_complete_dataset_is_not_downloaded_again(tmp_path: Path, monkeypatch) -> None:
    with _serve("fiwi", fiwi()) as server:
        monkeypatch.setenv(DATASETS_BASE_URL_ENV, server.url)
        download_dataset("fiwi", tmp_path)
    monkeypatch.setenv(DATASETS_BASE_URL_ENV, "http://127.0.0.1:9")  # nothing listens
    assert download_dataset("fiwi", tmp_path) == tmp_path / "fiwi"


def test_a_damaged_archive_is_one_line_and_removed(tmp_path: Path, monkeypatch) -> None:
    archives = fiwi()
    archives["webpage_dataset.zip"] = archives["webpage_dataset.zip"][:200]
    with _serve("fiwi", archives) as server:
        monkeypatch.setenv(DATASETS_BASE_URL_ENV, server.url)
        with pytest.raises(DownloadError, match="damaged") as info:
            download_dataset("fiwi", tmp_path)
    assert "\n" not in str(info.value)
    assert not (tmp_path / "fiwi").exists()
    assert not (tmp_path / ".downloads" / "fiwi" / "webpage_dataset.zip").exists()


def test_a_missing_archive_names_the_url(tmp_path: Path, monkeypatch) -> None:
    with _serve("mit1003", {"ALLSTIMULI.zip": mit1003()["ALLSTIMULI.zip"]}) as server:
        monkeypatch.setenv(DATASETS_BASE_URL_ENV, server.url)
        with pytest.raises(DownloadError, match="ALLFIXATIONMAPS.zip: HTTP 404"):
            download_dataset("mit1003", tmp_path)
    assert not (tmp_path / "mit1003").exists()
