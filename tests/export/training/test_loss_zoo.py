"""Every training loss: a value worked out by hand on a three-pixel case, and a gradient
that points the right way (one small step lowers the loss and brings the prediction
closer to the truth)."""

from __future__ import annotations

import math

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from saliency_cam.export.training.loss import LOSSES, loss_fn, parse_loss  # noqa: E402
from saliency_cam.models.errors import SaliencyCamError  # noqa: E402

#: One image of three pixels. Ground truth g = [0, 1, 3]: ĝ = g/Σg = [0, .25, .75],
#: g₁ = g/max g = [0, 1/3, 1]. Prediction p = [.5, .5, 1]: p̂ = [.25, .25, .5].
TRUTH = np.array([0.0, 1.0, 3.0], np.float32).reshape(1, 1, 3, 1)
PRED = np.array([0.5, 0.5, 1.0], np.float32).reshape(1, 1, 3, 1)

# CC: g − mean = [−4/3, −1/3, 5/3], p − mean = [−1/6, −1/6, 1/3];
# Σ products = 4/18 + 1/18 + 10/18 = 5/6; Σ squares 14/3 and 1/6 → CC = (5/6)/√(7/9).
_CC = (5 / 6) / math.sqrt(7 / 9)
# NSS: p's population std √(1/18); z = [−1/√2, −1/√2, √2]; Σ ĝ·z = −.25/√2 + .75·√2.
_NSS = -0.25 / math.sqrt(2) + 0.75 * math.sqrt(2)
_KLD = 0.75 * math.log(1.5)  # .25·log(.25/.25) + .75·log(.75/.5); the 0 pixel adds 0

HAND: dict[str, float] = {
    "kld": _KLD,
    "cc": -_CC,
    "nss": -_NSS,
    "sim": -(0 + 0.25 + 0.5),  # Σ min(p̂, ĝ)
    "kld-cc": _KLD - _CC,
    # ((.5 − 0)/1.1)², ((.5 − 1/3)/(1.1 − 1/3))², ((1 − 1)/.1)²; mean of three
    "nmse": ((0.5 / 1.1) ** 2 + ((0.5 - 1 / 3) / (1.1 - 1 / 3)) ** 2 + 0.0) / 3,
    # −log .5 (g₁ = 0), −(1/3·log .5 + 2/3·log .5) = −log .5, ~0 at p = g₁ = 1
    "bce": 2 * math.log(2) / 3,
    "chi2": 0.25**2 / 0.25 + 0.75**2 / 0.5 - 1,  # Σ ĝ²/p̂ − 1 = .25 + 1.125 − 1
    "total-variation": 0.5 * (0.25 + 0.0 + 0.25),
    # Σ p·g = 0 + .5 + 3; ‖p‖ = √1.5, ‖g‖ = √10
    "cosine": 1 - 3.5 / (math.sqrt(1.5) * math.sqrt(10)),
    "bhattacharyya": -math.log(0.0 + math.sqrt(0.25 * 0.25) + math.sqrt(0.5 * 0.75)),
    # p − g₁ = [.5, 1/6, 0]; beyond δ = .1: δ(|d| − δ/2)
    "huber": (0.1 * (0.5 - 0.05) + 0.1 * (1 / 6 - 0.05) + 0.0) / 3,
    "mse": (0.25 + (1 / 6) ** 2 + 0.0) / 3,
}


def test_every_loss_has_a_hand_computed_case() -> None:
    assert set(HAND) == set(LOSSES)


@pytest.mark.parametrize("name", sorted(HAND))
def test_loss_value_matches_the_hand_computed_case(name: str) -> None:
    value = float(loss_fn(name)(TRUTH, PRED))
    assert value == pytest.approx(HAND[name], rel=1e-4, abs=1e-6)


def test_weighted_sums_add_their_terms() -> None:
    value = float(loss_fn("kld+0.5*cc")(TRUTH, PRED))
    assert value == pytest.approx(_KLD - 0.5 * _CC, rel=1e-5)
    value = float(loss_fn("0.25*mse + 2*total_variation")(TRUTH, PRED))
    assert value == pytest.approx(0.25 * HAND["mse"] + 2 * HAND["total-variation"], rel=1e-5)
    assert parse_loss("KLD+0.5*CC") == [(1.0, "kld"), (0.5, "cc")]
    assert parse_loss("kld-cc") == [(1.0, "kld-cc")]  # a name, not a difference


@pytest.mark.parametrize("spec", ["kdl", "kld+", "0*cc", "kld+x*cc"])
def test_bad_loss_is_one_readable_line(spec: str) -> None:
    with pytest.raises(SaliencyCamError) as info:
        loss_fn(spec)
    assert "\n" not in str(info.value) and "--loss" in str(info.value)


def _cc(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


@pytest.mark.parametrize("name", [*sorted(HAND), "kld+0.5*cc"])
def test_one_gradient_step_lowers_the_loss_towards_the_truth(name: str) -> None:
    """From a random [0, 1] prediction of a blob, a small step against the gradient
    lowers the loss and raises the prediction's CC with the truth (a loss whose sign or
    terms are wrong would push the map away)."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:8, 0:10]
    truth = np.exp(-((yy - 2.0) ** 2 + (xx - 7.0) ** 2) / 4.0).astype(np.float32) * 255
    truth = truth.reshape(1, 8, 10, 1)
    start = rng.uniform(0.2, 0.8, truth.shape).astype(np.float32)
    pred = tf.Variable(start)
    fn = loss_fn(name)
    with tf.GradientTape() as tape:
        before = fn(truth, pred)
    grad = tape.gradient(before, pred).numpy()
    assert np.all(np.isfinite(grad)) and np.abs(grad).max() > 0
    step = 0.02 / np.abs(grad).max()  # moves no pixel by more than 0.02
    after_pred = start - step * grad
    after = float(fn(truth, after_pred))
    assert after < float(before)
    assert _cc(after_pred, truth) > _cc(start, truth)
