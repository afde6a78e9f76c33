"""Training data without TensorFlow: density maps, the folder reader and its problem
lists, the original splits, eye-tracking video → frames + gaze points."""

from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest
from media_factory import make_clip, make_image

from saliency_cam.export.training.datasets.folder import (
    DataError,
    fixation_mask,
    read_folder,
    target_map,
)
from saliency_cam.export.training.density import density_map, fixation_counts
from saliency_cam.export.training.gaze_video import prepare_gaze_video, read_gaze_csv
from saliency_cam.export.training.splits import (
    category_split,
    fraction_split,
    original_split,
)
from saliency_cam.models.errors import InputError


def gaussian_sum(points: np.ndarray, shape: tuple[int, int], sigma: float) -> np.ndarray:
    """Independent reference: a sum of sampled Gaussians centred on the fixated pixels."""
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float64)
    out = np.zeros(shape)
    for x, y in points:
        cx, cy = np.floor(x), np.floor(y)
        if 0 <= cx < shape[1] and 0 <= cy < shape[0]:
            out += np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    return out / out.max()


def test_density_map_matches_a_sum_of_gaussians() -> None:
    points = np.array([[10.2, 5.7], [30.0, 20.0], [30.4, 20.9], [47.0, 31.0], [99.0, 3.0]])
    shape, sigma = (32, 48), 3.0
    got = density_map(points, shape, sigma)
    assert got.shape == shape and got.dtype == np.float32
    np.testing.assert_allclose(got, gaussian_sum(points, shape, sigma), atol=2e-3)
    # two fixations on one pixel count twice; the off-image one is dropped
    counts = fixation_counts(points, shape)
    assert counts[20, 30] == 2 and counts.sum() == 4


def _study(root: Path, names: list[str], maps: list[str] | None = None) -> Path:
    (root / "stimuli").mkdir(parents=True)
    (root / "saliency").mkdir()
    for name in names:
        make_image(root / "stimuli" / f"{name}.jpg", 40, 30)
    for name in maps if maps is not None else names:
        gt = np.zeros((30, 40), np.uint8)
        gt[10:20, 5:15] = 255
        cv2.imwrite(str(root / "saliency" / f"{name}_fixMap.png"), gt)
    return root


def test_folder_pairs_names_with_fixmap_stripped(tmp_path: Path) -> None:
    data = read_folder(_study(tmp_path / "d", ["a", "b", "c"]))
    assert [s.key for s in data.samples] == ["a", "b", "c"]
    assert data.samples[0].saliency.name == "a_fixMap.png"
    assert data.shapes["a"] == (30, 40)
    truth = target_map(data.samples[0])
    assert truth.shape == (30, 40) and truth[15, 10] == 255 and truth[0, 0] == 0


def test_folder_problems_are_all_listed_before_training(tmp_path: Path) -> None:
    root = _study(tmp_path / "d", ["a", "b", "c"], maps=["a", "c", "zz"])
    (root / "stimuli" / "c.jpg").write_bytes(b"not a jpeg at all")
    with pytest.raises(DataError) as info:
        read_folder(root)
    text = str(info.value)
    assert "b.jpg" in text and "zz_fixMap.png" in text and "c.jpg" in text
    assert len(info.value.problems) == 3 and "\n" not in text


def test_fixations_from_csv_become_density_maps(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "stimuli").mkdir(parents=True)
    make_image(root / "stimuli" / "p.png", 48, 32)
    with open(root / "fixations.csv", "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["image", "x", "y", "observer"])
        writer.writerows([["p.png", 10, 8, "s1"], ["p", 40.5, 20, "s2"]])
    (sample,) = read_folder(root).samples
    np.testing.assert_allclose(
        target_map(sample, sigma=2.0),
        gaussian_sum(np.array([[10, 8], [40.5, 20]]), (32, 48), 2.0),
        atol=2e-3,
    )
    mask = fixation_mask(sample, (32, 48))
    assert mask.sum() == 2 and mask[8, 10] and mask[20, 40]


def test_fixations_as_binary_maps_and_npy_points(tmp_path: Path) -> None:
    root = tmp_path / "d"
    (root / "stimuli").mkdir(parents=True)
    (root / "fixations").mkdir()
    for name in ("m", "n"):
        make_image(root / "stimuli" / f"{name}.png", 48, 32)
    binary = np.zeros((32, 48), np.uint8)
    binary[5, 7] = 255
    cv2.imwrite(str(root / "fixations" / "m_fixPts.png"), binary)
    np.save(root / "fixations" / "n.npy", np.array([[7.0, 5.0]]))
    m, n = read_folder(root).samples
    np.testing.assert_allclose(target_map(m, 2.0), target_map(n, 2.0), atol=1e-6)
    assert target_map(m, 2.0).argmax() == 5 * 48 + 7


def test_a_folder_without_ground_truth_says_what_is_expected(tmp_path: Path) -> None:
    (tmp_path / "stimuli").mkdir()
    with pytest.raises(InputError, match="no ground truth"):
        read_folder(tmp_path)


def test_an_empty_truth_folder_counts_and_each_unpaired_file_is_named(tmp_path: Path) -> None:
    """An empty saliency/ is ground truth (of no image): each stimulus is then named as
    having none, and CSV rows of no stimulus are named by image, in that order."""
    root = tmp_path / "d"
    (root / "stimuli").mkdir(parents=True)
    (root / "saliency").mkdir()
    make_image(root / "stimuli" / "a.png", 48, 32)
    (root / "fixations.csv").write_text("image,x,y\nghost.png,1,2\n")
    with pytest.raises(DataError) as info:
        read_folder(root)
    assert info.value.problems == [
        f"no map or fixations for {root / 'stimuli' / 'a.png'}",
        "no stimulus for fixations.csv image ghost",
    ]
    (root / "stimuli" / "a.png").unlink()
    with pytest.raises(DataError) as info:
        read_folder(root)
    assert info.value.problems[-1] == f"no images in {root / 'stimuli'}"


def test_splits_follow_the_original_seeding() -> None:
    order = np.arange(1003)
    np.random.RandomState(42).shuffle(order)
    train, valid = original_split(1003, 803)
    assert train == sorted(order[:803].tolist()) and valid == sorted(order[803:].tolist())
    # CAT2000: the same positions inside each category
    categories = ["Action"] * 10 + ["Art"] * 10
    train, valid = category_split(categories)
    assert len(train) == 16 and len(valid) == 4
    assert [i - 10 for i in valid if i >= 10] == [i for i in valid if i < 10]
    train, valid = fraction_split(10, 0.3)
    assert len(valid) == 3 and not set(train) & set(valid)


def test_gaze_video_samples_frames_and_gaze_in_a_window(tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "scene.mp4", 64, 48, 50, fps=25)  # 2 s
    gaze = tmp_path / "gaze.tsv"
    rows = [["Recording timestamp", "Gaze X", "Gaze Y", "Participant", "Eye movement"]]
    for ms in range(0, 2000, 20):
        rows.append([ms, 10 + ms / 100, 20, "p1", "Fixation"])
        rows.append([ms, 50, 30, "p2", "Saccade" if ms % 200 else "Fixation"])
    rows.append([500, "", "", "p1", "Fixation"])  # eye lost: skipped
    gaze.write_text("\n".join("\t".join(map(str, r)) for r in rows))
    columns = (
        "timestamp=Recording timestamp,x=Gaze X,y=Gaze Y,participant=Participant,"
        "fixation=Eye movement"
    )
    read = read_gaze_csv(gaze, columns, time_unit="ms")
    assert set(read.participant) == {"p1", "p2"} and read.t.max() == pytest.approx(1.98)
    folder = prepare_gaze_video(
        clip, gaze, tmp_path / "out", columns=columns, every=1.0, window=0.1, time_unit="ms"
    )
    frames = sorted(p.name for p in (folder / "stimuli").iterdir())
    assert frames == ["frame_00000000.png", "frame_00001000.png"]
    points = np.load(folder / "fixations" / "frame_00001000.npy")
    # p1 every 20 ms within ±100 ms of 1 s (11 samples), p2 only its 1000 ms fixation
    assert len(points) == 12 and (points[:, 0] == 50).sum() == 1
    assert points[:, 0].min() == pytest.approx(19.0) and points[:, 0].max() == pytest.approx(50)
    data = read_folder(folder)
    assert [s.key for s in data.samples] == ["frame_00000000", "frame_00001000"]
    assert target_map(data.samples[1]).shape == (48, 64)


def test_gaze_video_again_with_other_sampling_keeps_only_its_own_frames(tmp_path: Path) -> None:
    """The frames folder is reused: a second run with another --every must not keep the
    first run's extra frames (they were trained on as if sampled this time)."""
    clip = make_clip(tmp_path / "scene.mp4", 64, 48, 75, fps=25)  # 3 s
    gaze = tmp_path / "gaze.csv"
    gaze.write_text("timestamp,x,y\n" + "".join(f"{i / 10},{20 + i},20\n" for i in range(30)))
    out = tmp_path / "out"
    prepare_gaze_video(clip, gaze, out, every=1.0, window=0.1)
    assert len(list((out / "stimuli").iterdir())) == 3
    prepare_gaze_video(clip, gaze, out, every=2.0, window=0.1)
    assert sorted(p.name for p in (out / "stimuli").iterdir()) == [
        "frame_00000000.png",
        "frame_00002000.png",
    ]
    assert sorted(p.stem for p in (out / "fixations").iterdir()) == [
        "frame_00000000",
        "frame_00002000",
    ]


def test_csv_that_is_not_utf8_is_one_line_saying_so(tmp_path: Path) -> None:
    """A spreadsheet's Latin-1 export (was: 'unexpected UnicodeDecodeError')."""
    root = tmp_path / "study"
    (root / "stimuli").mkdir(parents=True)
    make_image(root / "stimuli" / "bild.png", 64, 48)
    (root / "fixations.csv").write_bytes(b"image,x,y\nbild.png,1,2\n\xe4.png,3,4\n")
    with pytest.raises(InputError, match=r"fixations.csv is not UTF-8 text .*0xe4.*save it"):
        read_folder(root)
    gaze = tmp_path / "gaze.csv"
    gaze.write_bytes(b"timestamp,x,y,participant\n0,1,2,J\xfcrgen\n")
    with pytest.raises(InputError, match=r"gaze.csv is not UTF-8 text .*0xfc"):
        read_gaze_csv(gaze)


def test_gaze_csv_without_the_columns_names_them(tmp_path: Path) -> None:
    bad = tmp_path / "g.csv"
    bad.write_text("t,gx,gy\n0,1,2\n")
    with pytest.raises(InputError, match="--columns"):
        read_gaze_csv(bad)


def test_an_all_zero_training_map_is_named_in_one_warning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from saliency_cam.export.training.pipeline import load_example

    data = read_folder(_study(tmp_path / "study", ["a", "b"]))
    empty = tmp_path / "study" / "saliency" / "b_fixMap.png"
    cv2.imwrite(str(empty), np.zeros((30, 40), np.uint8))  # an export that went wrong
    for _ in range(2):  # two epochs
        for sample in data.samples:
            load_example(sample, (24, 32))
    err = capsys.readouterr().err
    assert err.count("warning:") == 1 and f"{empty}: the ground-truth map is all zero" in err
