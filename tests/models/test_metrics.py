"""Saliency metrics: hand-computed cases, literal MATLAB-loop references, properties."""

from __future__ import annotations

import math

import numpy as np
import pytest

from saliency_cam.models import metrics as M

# ---------------------------------------------------------------- literal references
# Line-by-line ports of the MIT benchmark's MATLAB loops (AUC_Judd.m, AUC_Borji.m,
# AUC_shuffled.m) fed the same random draws, to check the vectorised versions.


def _trapz(x, y):
    return sum((x[i + 1] - x[i]) * (y[i + 1] + y[i]) / 2 for i in range(len(x) - 1))


def _mit_judd(s, f, jitter_noise=None):
    s = s.astype(float)
    if jitter_noise is not None:
        s = s + jitter_noise / 1e7
    s = (s - s.min()) / (s.max() - s.min())
    flat, fix = s.ravel(), f.ravel() > 0
    sth = flat[fix]
    n_fix, n_pix = len(sth), len(flat)
    tp, fp = [0.0], [0.0]
    for i, thresh in enumerate(sorted(sth, reverse=True), start=1):
        above = np.sum(flat >= thresh)
        tp.append(i / n_fix)
        fp.append((above - i) / (n_pix - n_fix))
    return _trapz(fp + [1.0], tp + [1.0])


def _mit_split_auc(sth, curfix, n_neg, step=0.1):
    top = max(np.max(sth), np.max(curfix))
    threshes = [k * step for k in range(int(np.floor(top / step + 1e-9)) + 1)][::-1]
    tp, fp = [0.0], [0.0]
    for thresh in threshes:
        tp.append(np.sum(sth >= thresh) / len(sth))
        fp.append(np.sum(curfix >= thresh) / n_neg)
    return _trapz(fp + [1.0], tp + [1.0])


def _mit_borji(s, f, seed, n_splits=100):
    s = (s - s.min()) / (s.max() - s.min())
    flat, fix = s.ravel(), f.ravel() > 0
    sth = flat[fix]
    r = np.random.default_rng(seed).integers(0, flat.size, size=(len(sth), n_splits))
    return np.mean([_mit_split_auc(sth, flat[r[:, k]], len(sth)) for k in range(n_splits)])


def _mit_shuffled(s, f, other, seed, n_splits=100):
    s = (s - s.min()) / (s.max() - s.min())
    flat, fix = s.ravel(), f.ravel() > 0
    sth = flat[fix]
    ind = np.flatnonzero(other)
    n_oth = min(len(sth), len(ind))
    rng = np.random.default_rng(seed)
    aucs = []
    for _ in range(n_splits):
        curfix = flat[ind[rng.choice(ind.size, n_oth, replace=False)]]
        aucs.append(_mit_split_auc(sth, curfix, n_oth))
    return np.mean(aucs)


@pytest.fixture
def scene():
    """A 30×40 prediction with structure, fixations drawn from it, and a blurred GT map."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:30, 0:40]
    pred = np.exp(-((yy - 12) ** 2 + (xx - 25) ** 2) / 60.0) + 0.3 * rng.random((30, 40))
    fix = rng.random((30, 40)) < 0.08 * pred
    gt = np.exp(-((yy - 14) ** 2 + (xx - 22) ** 2) / 80.0)
    return pred, fix, gt


# ---------------------------------------------------------------- hand-computed cases


def test_cc_hand_computed():
    s = np.array([[1.0, 2.0], [3.0, 4.0]])
    # centred S = [-1.5, -.5, .5, 1.5], centred G = [-.5, -.5, .5, .5]: 2 / sqrt(5 * 1)
    assert M.cc(s, np.array([[0.0, 0.0], [1.0, 1.0]])) == pytest.approx(2 / math.sqrt(5))
    assert M.cc(s, np.array([[1.0, 0.0], [0.0, 1.0]])) == pytest.approx(0.0, abs=1e-12)
    assert M.cc(s, -s) == pytest.approx(-1.0)


def test_kld_hand_computed():
    # P = [.5, .5], Q = [.25, .75]: .25 ln(.5) + .75 ln(1.5)
    expected = 0.25 * math.log(0.5) + 0.75 * math.log(1.5)
    assert M.kld(np.array([[1.0, 1.0]]), np.array([[1.0, 3.0]])) == pytest.approx(expected)
    # P = [0, 1], Q = [.5, .5]: a zero where the ground truth has mass costs log(Q / eps)
    value = M.kld(np.array([[0.0, 1.0]]), np.array([[1.0, 1.0]]))
    assert value == pytest.approx(0.5 * math.log(0.5 / M.EPS) + 0.5 * math.log(0.5), rel=1e-9)


def test_sim_hand_computed():
    # min-max: P = [0, 1/3, 2/3, 1] / 2, Q = [1, 1, 0, 0] / 2 -> sum of minima = 1/6
    pred = np.array([[0.0, 1.0, 2.0, 3.0]])
    assert M.sim(pred, np.array([[1.0, 1.0, 0.0, 0.0]])) == pytest.approx(1 / 6)
    # min-max first: an offset in G does not matter
    assert M.sim(pred, np.array([[5.0, 5.0, 4.0, 4.0]])) == pytest.approx(1 / 6)


def test_nss_hand_computed_uses_n_minus_1_std():
    pred = np.array([[0.0, 0.0, 0.0, 1.0]])  # mean .25, std (N-1) = .5
    assert M.nss(pred, np.array([[0, 0, 0, 1]])) == pytest.approx(1.5)
    assert M.nss(pred, np.array([[1, 0, 0, 0]])) == pytest.approx(-0.5)
    assert M.nss(pred, np.array([[1, 0, 0, 1]])) == pytest.approx(0.5)
    # with the population std (N) the first case would be 0.75/0.433 = 1.732
    assert M.nss(pred, np.array([[0, 0, 0, 1]])) != pytest.approx(0.75 / pred.std())


def test_auc_judd_hand_computed():
    # values .1 .4 .2 .3, fixations on .4 and .2 (min-max: 1 and 1/3)
    # thresholds 1 -> (fp 0, tp .5); 1/3 -> 3 pixels above: (fp .5, tp 1); area .875
    pred = np.array([[0.1, 0.4, 0.2, 0.3]])
    fix = np.array([[0, 1, 1, 0]])
    assert M.auc_judd(pred, fix, jitter=False) == pytest.approx(0.875)
    assert M.auc_judd(pred, fix) == pytest.approx(0.875)  # jitter 1e-7 changes no order


def test_auc_borji_hand_computed_from_documented_draws():
    # Prediction = the fixation map. A split whose k random pixels hit fixations gives
    # the curve (0,0) -> (k/Nf, 1) -> (1,1), area 1 - k / (2 Nf).
    fix = np.zeros((5, 8), dtype=bool)
    fix[1, 2] = fix[3, 5] = fix[4, 7] = True
    draws = np.random.default_rng(11).integers(0, fix.size, size=(3, 100))  # documented
    hits = fix.ravel()[draws].sum(axis=0)
    expected = np.mean(1 - hits / (2 * 3))
    assert M.auc_borji(fix.astype(float), fix, seed=11) == pytest.approx(expected)


def test_auc_shuffled_hand_computed():
    pred = np.array([[1.0, 0.0, 0.0, 0.0]])
    fix = np.array([[1, 0, 0, 0]])
    # negatives all score 0: perfect separation
    assert M.auc_shuffled(pred, fix, np.array([[0, 0, 1, 1]])) == 1.0
    # negatives are the fixated pixel itself: no separation at all
    assert M.auc_shuffled(pred, fix, np.array([[1, 0, 0, 0]])) == 0.5


def test_information_gain_hand_computed():
    pred = np.array([[0.0, 1.0, 2.0, 3.0]])  # P = [0, 1/6, 1/3, 1/2]
    uniform = M.uniform_map((1, 4))  # B = 1/4 everywhere
    assert M.information_gain(pred, np.array([[0, 0, 0, 1]]), uniform) == pytest.approx(1.0)
    both = M.information_gain(pred, np.array([[0, 0, 1, 1]]), uniform)
    assert both == pytest.approx((1.0 + math.log2(4 / 3)) / 2)
    # a fixation on the prediction's minimum costs log2(eps) - log2(1/4) = -50 bits
    worst = M.information_gain(pred, np.array([[1, 0, 0, 0]]), uniform)
    assert worst == pytest.approx(math.log2(M.EPS) + 2, rel=1e-9)
    # against itself as baseline the gain is zero
    assert M.information_gain(pred, np.array([[0, 1, 1, 1]]), pred) == pytest.approx(0.0)


def test_center_bias_map_shape_peak_and_spread():
    m = M.center_bias_map((5, 9), sigma=0.25)
    assert m.shape == (5, 9)
    assert m[2, 4] == pytest.approx(1.0) and m.max() == m[2, 4]
    assert np.allclose(m, m[::-1, ::-1])  # symmetric about the centre
    wide = M.center_bias_map((1, 41), sigma=0.25)
    # one standard deviation (0.25 * 41 px) from the centre: exp(-1/2)
    xs = np.arange(41) - 20
    assert np.allclose(wide[0], np.exp(-0.5 * (xs / (0.25 * 41)) ** 2))
    with pytest.raises(M.MetricInputError):
        M.center_bias_map((0, 4))


def test_fixation_map_rasterises_and_scales_points():
    fmap = M.fixation_map(np.array([[0.2, 0.7], [3.9, 1.0], [3.5, 1.2], [-1, 0], [4, 0]]), (2, 4))
    assert fmap.tolist() == [[True, False, False, False], [False, False, False, True]]
    scaled = M.fixation_map(np.array([[7.0, 3.0]]), (2, 4), source_shape=(4, 8))
    assert np.argwhere(scaled).tolist() == [[1, 3]]


# ---------------------------------------------------------------- MATLAB references


def test_vectorised_aucs_match_literal_matlab_loops(scene):
    pred, fix, _ = scene
    noise = np.random.default_rng(5).random(pred.shape)
    assert M.auc_judd(pred, fix, seed=5) == pytest.approx(_mit_judd(pred, fix, noise), abs=1e-12)
    assert M.auc_judd(pred, fix, jitter=False) == pytest.approx(_mit_judd(pred, fix), abs=1e-12)
    # binned values tie a lot: Borji's thresholds are where ties matter
    coarse = np.round(pred * 5) / 5
    for s in (pred, coarse):
        assert M.auc_borji(s, fix, seed=3) == pytest.approx(_mit_borji(s, fix, 3), abs=1e-12)
    other = np.random.default_rng(1).random(pred.shape) < 0.05
    assert M.auc_shuffled(pred, fix, other, seed=9) == pytest.approx(
        _mit_shuffled(pred, fix, other, 9), abs=1e-12
    )


# ---------------------------------------------------------------- properties


def test_perfect_prediction_maximises_cc_sim_and_minimises_kld(scene):
    pred, _, gt = scene
    assert M.cc(gt, gt) == pytest.approx(1.0)
    assert M.sim(gt, gt) == pytest.approx(1.0)
    assert M.kld(gt, gt) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(0)
    for other in (pred, gt + 0.2 * rng.random(gt.shape), gt**2, rng.random(gt.shape)):
        assert M.cc(other, gt) < 1.0
        assert M.sim(other, gt) < 1.0
        assert M.kld(other, gt) > 1e-6


def test_constant_prediction_scores_chance(scene):
    _, fix, gt = scene
    flat = np.full(fix.shape, 0.3)
    assert M.auc_borji(flat, fix) == 0.5
    assert M.auc_shuffled(flat, fix, ~fix) == 0.5
    assert M.auc_judd(flat, fix, jitter=False) == pytest.approx(0.5)
    judd = [M.auc_judd(flat, fix, seed=k) for k in range(200)]
    assert abs(np.mean(judd) - 0.5) < 0.02  # 0.5 in expectation over the jitter
    assert np.std(judd) > 0  # the jitter really is random
    assert M.nss(flat, fix) == 0.0
    assert M.cc(flat, gt) == 0.0
    uniform = M.uniform_map(fix.shape)
    assert M.information_gain(flat, fix, uniform) == pytest.approx(0.0)
    # SIM and KLD treat it as the uniform distribution
    assert M.sim(flat, gt) == pytest.approx(M.sim(uniform, gt))
    assert M.kld(np.zeros(fix.shape), gt) == pytest.approx(M.kld(uniform, gt))


def test_auc_invariant_to_monotone_rescaling(scene):
    pred, fix, _ = scene
    base = M.auc_judd(pred, fix, jitter=False)
    for f in (np.sqrt, np.exp, lambda x: 3 * x**3 + 1):
        assert M.auc_judd(f(pred), fix, jitter=False) == pytest.approx(base, abs=1e-12)
    for name in ("auc_borji", "auc_shuffled"):
        metric = getattr(M, name)
        args = (fix, ~fix) if name == "auc_shuffled" else (fix,)
        value = metric(pred, *args, seed=4)
        assert metric(7.5 * pred - 2, *args, seed=4) == pytest.approx(value, abs=1e-12)


def test_nss_and_cc_invariant_to_affine_rescaling(scene):
    pred, fix, gt = scene
    assert M.nss(4 * pred + 9, fix) == pytest.approx(M.nss(pred, fix))
    assert M.cc(0.1 * pred - 3, gt) == pytest.approx(M.cc(pred, gt))
    assert M.nss(-pred, fix) == pytest.approx(-M.nss(pred, fix))  # but not to a flip


def test_good_prediction_beats_random(scene):
    pred, fix, gt = scene
    noise = np.random.default_rng(2).random(pred.shape)
    assert M.auc_judd(pred, fix) > M.auc_judd(noise, fix) + 0.1
    assert M.auc_borji(pred, fix) > M.auc_borji(noise, fix) + 0.1
    assert M.nss(pred, fix) > M.nss(noise, fix) + 0.5
    uniform = M.uniform_map(pred.shape)
    assert M.information_gain(pred, fix, uniform) > M.information_gain(noise, fix, uniform)


def test_seeded_determinism(scene):
    pred, fix, _ = scene
    for metric, args in (
        (M.auc_judd, (fix,)),
        (M.auc_borji, (fix,)),
        (M.auc_shuffled, (fix, ~fix)),
    ):
        a = metric(pred, *args, seed=123)
        assert metric(pred, *args, seed=123) == a
        assert metric(pred, *args, seed=np.random.default_rng(123)) == a
    assert M.auc_borji(pred, fix, seed=1) != M.auc_borji(pred, fix, seed=2)


# ---------------------------------------------------------------- edge cases


def test_nan_and_bad_shapes_raise():
    good = np.ones((4, 4))
    bad = good.copy()
    bad[1, 2] = np.nan
    with pytest.raises(M.MetricInputError, match="1 NaN/inf"):
        M.cc(bad, good)
    with pytest.raises(M.MetricInputError, match="ground truth"):
        M.kld(good, bad)
    with pytest.raises(M.MetricInputError, match="2-D"):
        M.nss(np.ones((2, 2, 3)), good)
    with pytest.raises(M.MetricInputError, match="negative"):
        M.kld(good - 2, good)
    with pytest.raises(M.MetricInputError, match="size"):
        M.auc_shuffled(good, good, np.ones((3, 3)))
    assert M.cc(np.ones((4, 4, 1)), np.eye(4)) == 0.0  # a channel axis of 1 is fine
    assert issubclass(M.MetricInputError, ValueError)


def test_no_fixations_and_empty_ground_truth_give_nan(scene):
    pred, _, _ = scene
    none = np.zeros(pred.shape)
    for metric in (M.auc_judd, M.auc_borji, M.nss):
        assert math.isnan(metric(pred, none))
    assert math.isnan(M.auc_shuffled(pred, none, ~none.astype(bool)))
    assert math.isnan(M.auc_shuffled(pred, ~none.astype(bool), none))  # no other fixations
    assert math.isnan(M.information_gain(pred, none, M.uniform_map(pred.shape)))
    for metric in (M.cc, M.sim, M.kld):
        assert math.isnan(metric(pred, none))
    assert math.isnan(M.cc(pred, np.full(pred.shape, 2.0)))  # constant GT: undefined
    assert math.isnan(M.auc_judd(pred, np.ones(pred.shape)))  # no negatives


def test_one_fixation(scene):
    pred, _, _ = scene
    one = np.zeros(pred.shape)
    one[12, 25] = 1
    assert math.isnan(M.auc_borji(pred, one))  # the MIT code needs two
    assert 0.9 < M.auc_judd(pred, one) <= 1.0
    assert M.nss(pred, one) > 1.0
    assert 0.0 <= M.auc_shuffled(pred, one, np.eye(*pred.shape)) <= 1.0


def test_size_mismatch_resizes_prediction_to_ground_truth(scene):
    pred, fix, gt = scene
    small = pred[::2, ::2]
    up = M.resize_to(small, pred.shape)
    assert up.shape == pred.shape
    assert small.min() <= up.min() and up.max() <= small.max()  # no bicubic overshoot
    assert M.cc(small, gt) == pytest.approx(M.cc(up, gt))
    assert M.nss(small, fix) == pytest.approx(M.nss(up, fix))
    assert M.auc_judd(small, fix, seed=1) == pytest.approx(M.auc_judd(up, fix, seed=1))
    assert M.kld(small, gt) == pytest.approx(M.kld(up, gt))
    big = np.kron(pred, np.ones((2, 2)))  # shrinking averages blocks back exactly
    assert np.allclose(M.resize_to(big, pred.shape), pred)
    assert M.cc(big, gt) == pytest.approx(M.cc(pred, gt))


def test_eps_is_matlabs_exactly() -> None:
    # the truncated 2.2204e-16 moves IG by ~1e-3 relative where IG is near 0
    assert M.EPS == 2.0**-52
    pred = np.array([[0.0, 1.0]])
    gt = np.array([[0.5, 0.5]])
    eps = 2.0**-52
    expected = 0.5 * math.log(eps + 0.5 / eps) + 0.5 * math.log(eps + 0.5 / (1.0 + eps))
    assert M.kld(pred, gt) == pytest.approx(expected, rel=1e-12)


def test_emd_by_hand_and_on_maps() -> None:
    pytest.importorskip("ot")
    # one unit of mass moved 3 cells right, and half a unit moved 3-4-5 diagonally
    p = np.zeros((4, 6))
    q = np.zeros((4, 6))
    p[0, 0], q[0, 3] = 1.0, 1.0
    assert M.emd_exact(p, q) == pytest.approx(3.0)
    p[:] = 0
    q[:] = 0
    p[0, 0], p[3, 5] = 0.5, 0.5
    q[3, 4], q[3, 5] = 0.5, 0.5
    assert M.emd_exact(p, q) == pytest.approx(0.5 * 5.0)
    g = np.zeros((96, 128))
    g[20:40, 30:50] = 1.0
    assert M.emd(g, g) == 0.0
    moved = np.roll(g, 64, axis=1)  # two cells to the right on the 1/32 grid
    assert M.emd(moved, g) == pytest.approx(2.0, abs=0.05)


def test_matlab_imresize_keeps_constants_and_ramps() -> None:
    flat = np.full((64, 96), 7.0)
    np.testing.assert_allclose(M.matlab_imresize(flat, (2, 3), 1 / 32), 7.0)
    ramp = np.tile(np.arange(64, dtype=float), (8, 1))
    half = M.matlab_imresize(ramp, (4, 32), 0.5)
    # cubic reproduces linear functions away from the mirrored edges: cell centres
    np.testing.assert_allclose(half[:, 4:-4], np.tile(np.arange(8, 56, 2) + 0.5, (4, 1)))
