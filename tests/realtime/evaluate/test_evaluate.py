"""``saliency-cam evaluate`` and its library: matching, readers, scoring, reports, CLI."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import run_main

from saliency_cam.models import metrics as M
from saliency_cam.models.errors import InputError
from saliency_cam.realtime.evaluate import scoring as ev

H, W = 48, 64


def _blob(cy: float, cx: float, spread: float) -> np.ndarray:
    yy, xx = np.mgrid[0:H, 0:W]
    return np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / spread)


@pytest.fixture
def mini(tmp_path: Path) -> Path:
    """pred/ fix/ maps/ like a public dataset: 5 matched images, one GT file without a
    prediction (img5), one prediction without GT (extra), one non-map file."""
    rng = np.random.default_rng(0)
    for name in ("pred", "fix", "maps"):
        (tmp_path / name).mkdir()
    for i in range(6):
        cy, cx = rng.integers(10, 38), rng.integers(10, 54)
        gt = _blob(cy, cx, 50)
        fix = rng.random((H, W)) < 0.06 * gt
        fix[cy, cx] = True
        cv2.imwrite(str(tmp_path / "maps" / f"img{i}.png"), np.round(gt * 255).astype(np.uint8))
        # MIT1003 style name: <stem>_fixPts
        cv2.imwrite(str(tmp_path / "fix" / f"img{i}_fixPts.png"), fix.astype(np.uint8) * 255)
        if i == 0:  # a perfect prediction, stored at the GT's size
            pred = gt
        elif i < 5:  # a shifted blob at half resolution (exercises the resize)
            pred = cv2.resize(_blob(cy + 3, cx - 2, 80), (W // 2, H // 2))
        else:
            continue
        np.save(tmp_path / "pred" / f"img{i}.npy", pred)
    np.save(tmp_path / "pred" / "extra.npy", np.ones((4, 4)))
    (tmp_path / "pred" / "notes.txt").write_text("not a map")
    return tmp_path


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = run_main(["evaluate", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def _read_csv(path: Path) -> dict[str, dict[str, str]]:
    with open(path, newline="") as fh:
        return {row["image"]: row for row in csv.DictReader(fh)}


# --------------------------------------------------------------------------- CLI


def test_cli_scores_a_predictions_folder(mini: Path, tmp_path: Path, capsys) -> None:
    out_dir = tmp_path / "results"
    code, out, err = _run(
        capsys,
        *("-p", str(mini / "pred"), "-f", str(mini / "fix"), "-m", str(mini / "maps")),
        *("--csv", str(out_dir / "s.csv"), "--json", str(out_dir / "s.json")),
        *("--markdown", str(out_dir / "s.md")),
    )
    assert code == 0, out + err
    rows = _read_csv(out_dir / "s.csv")
    assert sorted(rows) == [f"img{i}" for i in range(5)]
    # per-image values are the metrics of the files, resized as the benchmark does
    gt = ev.read_map(mini / "maps" / "img2.png")
    pred = np.load(mini / "pred" / "img2.npy")
    fix = ev.read_fixations(mini / "fix" / "img2_fixPts.png").mask
    assert float(rows["img2"]["cc"]) == pytest.approx(M.cc(pred, gt), rel=1e-5)
    assert float(rows["img2"]["kld"]) == pytest.approx(M.kld(pred, gt), rel=1e-5)
    assert float(rows["img2"]["nss"]) == pytest.approx(M.nss(pred, fix), rel=1e-5)
    assert int(rows["img2"]["n_fixations"]) == int(fix.sum())
    assert float(rows["img0"]["cc"]) == pytest.approx(1.0, abs=1e-4)  # the perfect one
    if "emd" in rows["img2"]:  # POT installed (the evaluate extra)
        resized = M.resize_to(pred, gt.shape)  # evaluate brings maps to the GT size first
        assert float(rows["img2"]["emd"]) == pytest.approx(M.emd(resized, gt), rel=1e-5)
        # the perfect one (up to the PNG's 8-bit tails) moves far less mass than a shift
        assert float(rows["img0"]["emd"]) < float(rows["img2"]["emd"])
    assert float(rows["img0"]["auc_judd"]) > float(rows["img1"]["auc_judd"])

    summary = json.loads((out_dir / "s.json").read_text())
    cc_values = [float(r["cc"]) for r in rows.values()]
    assert summary["summary"]["cc"]["mean"] == pytest.approx(np.mean(cc_values), rel=1e-5)
    assert summary["summary"]["cc"]["std"] == pytest.approx(np.std(cc_values, ddof=1), rel=1e-4)
    assert summary["summary"]["kld"]["higher_is_better"] is False
    assert set(summary["summary"]) == set(ev.ALL_METRICS)
    assert summary["missing_source"] == ["img5"]
    assert summary["missing_ground_truth"] == ["extra"]
    assert summary["ignored"] == [str(mini / "pred" / "notes.txt")]
    assert summary["trained"] is None and "warning" not in summary
    # the screen shows the table and lists what did not pair up
    assert "AUC-Judd" in out and "KLD" in out
    assert "img5" in out and "extra" in out
    markdown = (out_dir / "s.md").read_text()
    mean_cc = summary["summary"]["cc"]["mean"]
    assert f"| CC | {mean_cc:.3f} ± " in markdown
    assert "- `img5`" in markdown


def test_cli_is_deterministic_and_seeded(mini: Path, tmp_path: Path, capsys) -> None:
    args = ("-p", str(mini / "pred"), "-f", str(mini / "fix"), "--metrics", "auc_judd,sauc")
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert _run(capsys, *args, "--seed", seed, "--csv", str(tmp_path / f"{name}.csv"))[0] == 0
    a, b, c = ((tmp_path / f"{n}.csv").read_text() for n in "abc")
    assert a == b
    assert a != c
    assert "auc_shuffled" in a.splitlines()[0] and "cc" not in a.splitlines()[0]


def test_cli_nothing_matched_exits_non_zero(mini: Path, tmp_path: Path, capsys) -> None:
    other = tmp_path / "other"
    other.mkdir()
    np.save(other / "zzz.npy", np.ones((4, 4)))
    code, _, err = _run(capsys, "-p", str(other), "-f", str(mini / "fix"))
    assert code != 0
    assert "nothing to evaluate" in err and "'zzz'" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-f", "FIX"), "exactly one of --predictions"),
        (("-p", "PRED"), "no ground truth"),
        (("-p", "PRED", "-s", "PRED", "-f", "FIX"), "exactly one of --predictions"),
        (("-p", "PRED", "-f", "FIX", "-q", "low"), "for --stimuli only"),
        (("-p", "PRED", "-f", "FIX", "--metrics", "cc"), "needs continuous saliency maps"),
        (("-p", "PRED", "-f", "FIX", "--metrics", "auc_magic"), "unknown metric 'auc_magic'"),
        (("-p", "PRED", "-f", "FIX", "--baseline", "mean"), "unknown --baseline"),
        (("-p", "PRED", "-f", "FIX", "--csv", "PRED/out.csv"), "inside the input folder"),
        (("-p", "PRED", "-m", "FIX/img0_fixPts.png"), "is not a folder"),
    ],
)
def test_cli_bad_arguments_give_one_line(mini: Path, capsys, args, message) -> None:
    real = [a.replace("PRED", str(mini / "pred")).replace("FIX", str(mini / "fix")) for a in args]
    code, _, err = _run(capsys, *real)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert not (mini / "pred" / "out.csv").exists()


def test_cli_lists_failed_images_and_keeps_scoring(mini: Path, tmp_path: Path, capsys) -> None:
    (mini / "pred" / "img1.npy").write_bytes(b"not numpy")
    bad = np.load(mini / "pred" / "img2.npy")
    bad[0, 0] = np.nan
    np.save(mini / "pred" / "img2.npy", bad)
    code, out, err = _run(
        capsys, "-p", str(mini / "pred"), "-m", str(mini / "maps"), "--json", str(tmp_path / "j")
    )
    assert code == 1  # the others are scored and written, and the run says it failed
    assert "2 of 5 image(s) failed (listed above); the scores are over the other 3" in err
    summary = json.loads((tmp_path / "j").read_text())
    failed = {f["image"]: f["error"] for f in summary["failed"]}
    assert set(failed) == {"img1", "img2"}
    assert "NaN" in failed["img2"]
    assert summary["images"] == {"matched": 5, "scored": 3, "failed": 2}
    assert summary["summary"]["cc"]["n"] == 3
    assert "images that failed (2)" in out


def test_cli_all_images_failing_exits_non_zero(tmp_path: Path, capsys) -> None:
    (tmp_path / "p").mkdir()
    (tmp_path / "m").mkdir()
    (tmp_path / "p" / "a.png").write_bytes(b"garbage")
    cv2.imwrite(str(tmp_path / "m" / "a.png"), np.eye(8, dtype=np.uint8) * 255)
    code, _, err = _run(capsys, "-p", str(tmp_path / "p"), "-m", str(tmp_path / "m"))
    assert code == 2 and "no image could be scored" in err


# --------------------------------------------------------------------------- library


def test_index_and_match_by_relative_name(tmp_path: Path) -> None:
    for rel in ("Action/001.png", "Action/001.npy", "Art/001.jpg", ".hidden.png", "x.txt"):
        (tmp_path / "p" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "p" / rel).write_bytes(b"")
    for rel in ("Action/001_fixMap.png", "Art/001_fixMap.png", "Art/002_fixMap.png"):
        (tmp_path / "f" / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "f" / rel).write_bytes(b"")
    preds = ev.index_folder(tmp_path / "p", ev.MAP_SUFFIXES)
    assert sorted(preds.files) == ["Action/001", "Art/001"]  # sub-folders keep names apart
    assert preds.files["Action/001"].suffix == ".npy"  # full precision wins...
    assert [p.name for p in preds.duplicates["Action/001"]] == ["001.npy", "001.png"]  # ...listed
    assert [p.name for p in preds.ignored] == ["x.txt"]
    m = ev.match(preds, fixations=ev.index_folder(tmp_path / "f", ev.FIXATION_SUFFIXES))
    assert [i.key for i in m.items] == ["Action/001", "Art/001"]
    assert m.missing_source == ["Art/002"] and m.missing_ground_truth == []
    assert len(m.duplicates) == 1 and "used 001.npy" in m.duplicates[0]
    strict = ev.index_folder(tmp_path / "f", ev.FIXATION_SUFFIXES, strip=())
    assert "Art/002_fixMap" in strict.files


def test_read_fixations_formats(tmp_path: Path) -> None:
    from scipy.io import savemat

    # JPEG fixation map: compression noise around the 0/255 points is not a fixation
    fmap = np.zeros((H, W), np.uint8)
    fmap[10, 20] = fmap[30, 40] = 255
    cv2.imwrite(str(tmp_path / "f.jpg"), fmap)
    mask = ev.read_fixations(tmp_path / "f.jpg").to_mask(None, tmp_path / "f.jpg")
    assert mask[10, 20] and mask[30, 40] and mask.sum() <= 6

    np.save(tmp_path / "pts.npy", np.array([[20.0, 10.0], [40.0, 30.0]]))  # 0-based (x, y)
    fix = ev.read_fixations(tmp_path / "pts.npy")
    assert np.argwhere(fix.to_mask((H, W), tmp_path)).tolist() == [[10, 20], [30, 40]]

    # SALICON: gaze struct per observer, 1-based (x, y), image size in 'resolution'
    gaze = np.zeros((2, 1), dtype=[("location", "O"), ("timestamp", "O"), ("fixations", "O")])
    gaze[0, 0]["fixations"] = np.array([[21.0, 11.0]])
    gaze[1, 0]["fixations"] = np.array([[41.0, 31.0], [1.0, 1.0]])
    for k in range(2):
        gaze[k, 0]["location"] = np.zeros((0, 2))
        gaze[k, 0]["timestamp"] = np.zeros((0, 1))
    savemat(tmp_path / "s.mat", {"gaze": gaze, "resolution": np.array([[96, 128]])})
    fix = ev.read_fixations(tmp_path / "s.mat")
    assert fix.shape == (96, 128)
    # scaled from the recorded 96x128 down to a 48x64 ground truth
    assert np.argwhere(fix.to_mask((H, W), tmp_path)).tolist() == [[0, 0], [5, 10], [15, 20]]

    # CAT2000: a binary map called fixLocs
    locs = np.zeros((H, W))
    locs[3, 4] = 1
    savemat(tmp_path / "c.mat", {"fixLocs": locs})
    assert np.argwhere(ev.read_fixations(tmp_path / "c.mat").mask).tolist() == [[3, 4]]

    savemat(tmp_path / "e.mat", {"note": "nothing"})
    with pytest.raises(InputError, match="no fixations found"):
        ev.read_fixations(tmp_path / "e.mat")
    with pytest.raises(InputError, match="24x32"):
        ev.Fixations(mask=mask).to_mask((24, 32), tmp_path / "f.jpg")


def test_points_without_size_use_the_stimulus_size(tmp_path: Path) -> None:
    (tmp_path / "s").mkdir()
    (tmp_path / "f").mkdir()
    cv2.imwrite(str(tmp_path / "s" / "a.png"), np.zeros((30, 50, 3), np.uint8))
    np.save(tmp_path / "f" / "a.npy", np.array([[49.0, 29.0], [0.0, 0.0]]))
    m = ev.match(
        ev.index_folder(tmp_path / "s", ev.IMAGE_SUFFIXES),
        fixations=ev.index_folder(tmp_path / "f", ev.FIXATION_SUFFIXES),
    )
    seen: list[tuple[int, ...]] = []

    def predict(path: Path) -> np.ndarray:
        image = ev.read_image(path)
        seen.append(image.shape)
        return np.linspace(0, 1, 30 * 50).reshape(30, 50)

    report = ev.evaluate(m, predict, metric_names=["nss"])
    result = report.results[0]
    assert (result.height, result.width, result.n_fixations) == (30, 50, 2)
    assert seen == [(30, 50, 3)]
    assert math.isfinite(result.scores["nss"])


def test_scores_do_not_depend_on_the_subset(mini: Path) -> None:
    preds = ev.index_folder(mini / "pred", ev.MAP_SUFFIXES)
    fix = ev.index_folder(mini / "fix", ev.FIXATION_SUFFIXES)
    full = ev.evaluate(ev.match(preds, fix), ev.read_map, seed=5)
    preds.files = {k: v for k, v in preds.files.items() if k in ("img3", "img4")}
    part = ev.evaluate(ev.match(preds, fix), ev.read_map, seed=5)
    by_key = {r.key: r.scores for r in full.results}
    for r in part.results:
        for name in ("auc_judd", "auc_borji", "nss", "info_gain"):
            assert r.scores[name] == by_key[r.key][name]


def test_shuffled_negatives_come_from_other_images_rescaled() -> None:
    truths = {
        "a": ev._Truth((10, 10), np.array([2]), np.array([3])),
        "b": ev._Truth((20, 40), np.array([10]), np.array([20])),  # centre of a 20x40 image
        "c": ev._Truth((10, 10), np.array([], int), np.array([], int)),  # no fixations
    }
    other = ev._other_map("a", truths, (10, 10), n_others=10, seed=0)
    assert np.argwhere(other).tolist() == [[5, 5]]  # b's centre at a's size; a excluded
    assert ev._other_map("c", {"c": truths["c"]}, (10, 10), 10, 0) is None


def test_information_gain_baseline_choice(mini: Path) -> None:
    preds = ev.index_folder(mini / "pred", ev.MAP_SUFFIXES)
    m = ev.match(preds, ev.index_folder(mini / "fix", ev.FIXATION_SUFFIXES))
    center = ev.evaluate(m, ev.read_map, metric_names=["ig"], baseline="center")
    uniform = ev.evaluate(m, ev.read_map, metric_names=["ig"], baseline="uniform")
    r = center.results[1]
    pred = ev.read_map(m.items[1].source)
    fixations = ev.read_fixations(m.items[1].fixations).mask
    expected = M.information_gain(pred, fixations, M.center_bias_map(fixations.shape))
    assert r.scores["info_gain"] == pytest.approx(expected)
    assert uniform.results[1].scores["info_gain"] != pytest.approx(expected)


def test_information_gain_with_the_datasets_own_centre_bias(mini: Path) -> None:
    import cv2

    preds = ev.index_folder(mini / "pred", ev.MAP_SUFFIXES)
    m = ev.match(preds, ev.index_folder(mini / "fix", ev.FIXATION_SUFFIXES))
    report = ev.evaluate(m, ev.read_map, metric_names=["ig"], baseline="others")
    assert report.settings["baseline"] == "others"  # the output says which was used
    item = m.items[1]
    fixations = ev.read_fixations(item.fixations).mask
    # leave-one-out: the other images' fixation maps summed and blurred, this one excluded
    others = sum(
        ev.read_fixations(o.fixations).mask.astype(float) for o in m.items if o is not item
    )
    sigma = 0.04 * max(fixations.shape)
    base = cv2.GaussianBlur(others, (0, 0), sigmaX=sigma, sigmaY=sigma) + 1e-12
    pred = ev.read_map(item.source)
    expected = M.information_gain(pred, fixations, base)
    assert report.results[1].scores["info_gain"] == pytest.approx(expected, rel=1e-6)
    with_self = M.information_gain(
        pred, fixations, cv2.GaussianBlur(others + fixations, (0, 0), sigma) + 1e-12
    )
    assert report.results[1].scores["info_gain"] != pytest.approx(with_self, rel=1e-6)


# --------------------------------------------------------------------------- on the fly


def test_cli_runs_an_exported_model_on_stimuli_and_says_untrained(
    tiny_models_dir: Path, tmp_path: Path, capsys
) -> None:
    from saliency_cam.realtime.runtime.session import open_session

    rng = np.random.default_rng(1)
    for name in ("stim", "fix", "maps"):
        (tmp_path / name).mkdir()
    for i in range(2):
        image = rng.integers(0, 255, (H, W, 3), dtype=np.uint8)
        cv2.imwrite(str(tmp_path / "stim" / f"s{i}.png"), image)
        gt = _blob(20 + 5 * i, 30, 60)
        cv2.imwrite(str(tmp_path / "maps" / f"s{i}.png"), np.round(gt * 255).astype(np.uint8))
        cv2.imwrite(str(tmp_path / "fix" / f"s{i}.png"), (gt > 0.9).astype(np.uint8) * 255)
    out = tmp_path / "out"
    code, stdout, _ = _run(
        capsys,
        *("-s", str(tmp_path / "stim"), "-q", "very-low", "--models-dir", str(tiny_models_dir)),
        *("-f", str(tmp_path / "fix"), "-m", str(tmp_path / "maps")),
        *("--csv", str(out / "s.csv"), "--json", str(out / "s.json"), "--markdown", str(out / "m")),
    )
    assert code == 0, stdout
    assert "UNTRAINED" in stdout
    assert stdout.count("UNTRAINED model (seeded random weights)") == 1  # the banner once
    summary = json.loads((out / "s.json").read_text())
    assert summary["trained"] is False and "UNTRAINED" in summary["warning"]
    assert summary["model"]["preset"] == "very_low" and summary["images"]["scored"] == 2
    assert "UNTRAINED" in (out / "m").read_text().splitlines()[2]
    rows = _read_csv(out / "s.csv")
    assert all("UNTRAINED" in r["model"] for r in rows.values())
    # the scores are those of the session's own prediction at the stimulus's size
    session = open_session("very_low", models_dir=tiny_models_dir)
    pred = session.predict(cv2.imread(str(tmp_path / "stim" / "s1.png")))
    gt = ev.read_map(tmp_path / "maps" / "s1.png")
    assert pred.shape == (H, W)
    assert float(rows["s1"]["cc"]) == pytest.approx(M.cc(pred, gt), rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("option", ["--json", "--csv", "--markdown"])
def test_cli_report_where_nothing_can_be_written_fails_before_scoring(
    mini: Path, capsys, option: str
) -> None:
    target = "/proc/saliency-cam-test/x.json"  # a place no user can create
    code, out, err = _run(
        capsys,
        *("-p", str(mini / "pred"), "-f", str(mini / "fix"), "-m", str(mini / "maps")),
        *(option, target),
    )
    assert code != 0
    assert f"{option} {target}: cannot write there" in err, err
    assert "unexpected" not in err and "Traceback" not in err
    assert "AUC-Judd" not in out  # no scores: it stopped before the work
