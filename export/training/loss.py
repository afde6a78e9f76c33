"""Training losses (TensorFlow), selected with ``--loss``. The default is the original's
KLD (MSI-Net's training, docs/design.md §10); ML-Net's default is ``nmse``.

Every loss takes ``y_true`` (ground-truth maps, any non-negative scale, e.g. 0..255) and
``y_pred`` (the network's [0, 1] maps), both [N, H, W, 1], computes one value per image
and returns the mean over the batch. Each is something to *lower*: similarity metrics
(CC, NSS, SIM) enter negated. Notation: ĝ and p̂ are the maps scaled to sum 1 per
image, g₁ the ground truth scaled to max 1, ε = 1e-7.

======================  ============================================================
name                    per image
======================  ============================================================
``kld``                 Σ ĝ·log(ε + ĝ/(ε + p̂))   (the original MSI-Net loss)
``cc``                  −Pearson CC(p, g)
``nss``                 −Σ ĝ·(p − mean p)/std p   (NSS weighted by the density map)
``sim``                 −Σ min(p̂, ĝ)
``kld-cc``              kld − CC   (the KLD + CC combination of SalGAN/UNISAL-era models)
``nmse``                mean(((p/max p − g₁)/(α − g₁))²), α = 1.1   (ML-Net's loss, as in
                        the paper; low-saliency pixels weigh less)
``bce``                 mean(−g₁·log p − (1 − g₁)·log(1 − p))   (SalGAN's content loss)
``chi2``                Σ ĝ²/(ε + p̂) − 1   (χ² divergence)
``total-variation``     ½·Σ |ĝ − p̂|
``cosine``              1 − Σ p·g / (‖p‖·‖g‖)
``bhattacharyya``       −log(ε + Σ √(p̂·ĝ))
``huber``               mean(Huber_δ(p − g₁)), δ = 0.1
``mse``                 mean((p − g₁)²)   (Euclidean)
======================  ============================================================

Weighted sums are written with ``+`` and ``WEIGHT*`` (weights positive):
``kld+0.5*cc``, ``0.7*bce+0.3*kld``. ML-Net's prior regulariser λ‖1 − prior‖² is a term
of its network (``model.losses``), which the training step adds to any of these.

>>> loss_fn("kld+0.5*cc")(truth, prediction)  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Callable

from saliency_cam.models.errors import SaliencyCamError

#: ε of the original loss, used in every normalisation below.
EPS = 1e-7
#: α of ML-Net's normalised MSE.
NMSE_ALPHA = 1.1
#: δ of the Huber loss on maps in 0..1 (at δ ≥ 1 it would be half the MSE everywhere).
HUBER_DELTA = 0.1
_AXES = (1, 2, 3)


def _f32(y_true, y_pred):
    import tensorflow as tf

    return tf.cast(y_true, tf.float32), tf.cast(y_pred, tf.float32)


def _to_distribution(x):
    """``x`` scaled to sum 1 per image."""
    import tensorflow as tf

    return x / (EPS + tf.reduce_sum(x, axis=_AXES, keepdims=True))


def _to_unit_max(x):
    """``x`` scaled to max 1 per image."""
    import tensorflow as tf

    return x / (EPS + tf.reduce_max(x, axis=_AXES, keepdims=True))


def kld(y_true, y_pred):
    """The original loss: ``mean_over_batch(Σ q·log(ε + q/(ε + p)))`` with
    q = y_true / (ε + Σ y_true), p = y_pred / (ε + Σ y_pred) per image."""
    import tensorflow as tf

    y_true, y_pred = _f32(y_true, y_pred)
    q, p = _to_distribution(y_true), _to_distribution(y_pred)
    per_image = tf.reduce_sum(q * tf.math.log(EPS + q / (EPS + p)), axis=_AXES)
    return tf.reduce_mean(per_image)


def correlation(y_true, y_pred):
    """Pearson CC per image, averaged over the batch (the CC metric, differentiable)."""
    import tensorflow as tf

    t, p = _f32(y_true, y_pred)
    t = t - tf.reduce_mean(t, axis=_AXES, keepdims=True)
    p = p - tf.reduce_mean(p, axis=_AXES, keepdims=True)
    num = tf.reduce_sum(t * p, axis=_AXES)
    den = tf.sqrt(tf.reduce_sum(t * t, axis=_AXES) * tf.reduce_sum(p * p, axis=_AXES)) + EPS
    return tf.reduce_mean(num / den)


def cc_loss(y_true, y_pred):
    """−CC: lower is better."""
    return -correlation(y_true, y_pred)


def nss_loss(y_true, y_pred):
    """−NSS against the ground-truth density: the prediction standardised per image
    (population standard deviation) and averaged with weights ĝ."""
    import tensorflow as tf

    t, p = _f32(y_true, y_pred)
    mean = tf.reduce_mean(p, axis=_AXES, keepdims=True)
    std = tf.sqrt(tf.reduce_mean(tf.square(p - mean), axis=_AXES, keepdims=True))
    z = (p - mean) / (std + EPS)
    return -tf.reduce_mean(tf.reduce_sum(_to_distribution(t) * z, axis=_AXES))


def sim_loss(y_true, y_pred):
    """−SIM: the histogram intersection Σ min(p̂, ĝ), negated."""
    import tensorflow as tf

    t, p = _f32(y_true, y_pred)
    both = tf.minimum(_to_distribution(p), _to_distribution(t))
    return -tf.reduce_mean(tf.reduce_sum(both, axis=_AXES))


def kld_cc(y_true, y_pred, cc_weight: float = 1.0):
    """KLD − ``cc_weight``·CC: the combined loss later models (SalGAN/UNISAL era) use."""
    return kld(y_true, y_pred) - cc_weight * correlation(y_true, y_pred)


def nmse(y_true, y_pred, alpha: float = NMSE_ALPHA):
    """ML-Net's normalised MSE as its paper writes it:
    ``mean(((p/max p − g₁)/(α − g₁))²)``, g₁ the ground truth scaled to max 1, so an
    error on a salient pixel (g₁ near 1, α − g₁ near 0.1) weighs up to 100× one on
    the background. (The authors' Keras code divides the squared error by α − g₁
    without squaring it; the paper's form is used here.)"""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    g, p = _to_unit_max(g), _to_unit_max(p)
    per_image = tf.reduce_mean(tf.square((p - g) / (alpha - g)), axis=_AXES)
    return tf.reduce_mean(per_image)


def bce(y_true, y_pred):
    """Binary cross-entropy of the [0, 1] prediction against g₁ (SalGAN's content loss)."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    g = _to_unit_max(g)
    p = tf.clip_by_value(p, EPS, 1.0 - EPS)
    per_pixel = -(g * tf.math.log(p) + (1.0 - g) * tf.math.log(1.0 - p))
    return tf.reduce_mean(tf.reduce_mean(per_pixel, axis=_AXES))


def chi2(y_true, y_pred):
    """χ² divergence Σ ĝ²/(ε + p̂) − 1."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    g, p = _to_distribution(g), _to_distribution(p)
    return tf.reduce_mean(tf.reduce_sum(tf.square(g) / (EPS + p), axis=_AXES) - 1.0)


def total_variation(y_true, y_pred):
    """Total-variation distance ½·Σ |ĝ − p̂|."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    diff = tf.abs(_to_distribution(g) - _to_distribution(p))
    return tf.reduce_mean(0.5 * tf.reduce_sum(diff, axis=_AXES))


def cosine(y_true, y_pred):
    """Cosine distance 1 − Σ p·g / (‖p‖·‖g‖)."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    num = tf.reduce_sum(p * g, axis=_AXES)
    norms = tf.norm(tf.reshape(p, [tf.shape(p)[0], -1]), axis=1) * tf.norm(
        tf.reshape(g, [tf.shape(g)[0], -1]), axis=1
    )
    return tf.reduce_mean(1.0 - num / (norms + EPS))


def bhattacharyya(y_true, y_pred):
    """Bhattacharyya distance −log(ε + Σ √(p̂·ĝ)) (ε inside the root keeps its gradient
    finite where a map is 0)."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    coefficient = tf.reduce_sum(
        tf.sqrt(_to_distribution(g) * _to_distribution(p) + EPS * EPS), axis=_AXES
    )
    return tf.reduce_mean(-tf.math.log(EPS + coefficient))


def huber(y_true, y_pred, delta: float = HUBER_DELTA):
    """Huber loss of p − g₁ per pixel: ½d² where |d| ≤ δ, δ·(|d| − δ/2) beyond."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    d = tf.abs(p - _to_unit_max(g))
    per_pixel = tf.where(d <= delta, 0.5 * tf.square(d), delta * (d - 0.5 * delta))
    return tf.reduce_mean(tf.reduce_mean(per_pixel, axis=_AXES))


def mse(y_true, y_pred):
    """Mean squared error of p against g₁ (Euclidean)."""
    import tensorflow as tf

    g, p = _f32(y_true, y_pred)
    return tf.reduce_mean(tf.reduce_mean(tf.square(p - _to_unit_max(g)), axis=_AXES))


#: Every loss ``--loss`` names, by name.
LOSS_TABLE: dict[str, Callable] = {
    "kld": kld,
    "cc": cc_loss,
    "nss": nss_loss,
    "sim": sim_loss,
    "kld-cc": kld_cc,
    "nmse": nmse,
    "bce": bce,
    "chi2": chi2,
    "total-variation": total_variation,
    "cosine": cosine,
    "bhattacharyya": bhattacharyya,
    "huber": huber,
    "mse": mse,
}
LOSSES: tuple[str, ...] = tuple(LOSS_TABLE)
_ALIASES = {"tv": "total-variation", "kl": "kld", "euclidean": "mse", "chi-squared": "chi2"}
_TERM = re.compile(r"^(?:(?P<weight>[0-9]*\.?[0-9]+(?:e[-+]?[0-9]+)?)\s*\*\s*)?(?P<name>.+)$")


def parse_loss(spec: str) -> list[tuple[float, str]]:
    """``"kld+0.5*cc"`` → ``[(1.0, "kld"), (0.5, "cc")]``; one readable error for an
    unknown name or a bad weight."""
    terms = []
    for part in spec.split("+"):
        text = part.strip().lower().replace("_", "-")
        match = _TERM.match(text)
        if not text or match is None:
            raise SaliencyCamError(
                f"--loss {spec!r}: write a name or a weighted sum like kld+0.5*cc"
            )
        name = match["name"].strip()
        name = _ALIASES.get(name, name)
        if name not in LOSS_TABLE:
            raise SaliencyCamError(
                f"unknown loss {name!r} in --loss {spec!r}: choose from {', '.join(LOSSES)} "
                "(or a weighted sum like kld+0.5*cc)"
            )
        weight = float(match["weight"]) if match["weight"] else 1.0
        if weight <= 0:
            raise SaliencyCamError(f"--loss {spec!r}: weights must be positive")
        terms.append((weight, name))
    return terms


def loss_fn(spec: str) -> Callable:
    """The loss ``spec`` names: one of :data:`LOSSES` or a weighted sum of them."""
    terms = parse_loss(spec)
    if len(terms) == 1 and terms[0][0] == 1.0:
        return LOSS_TABLE[terms[0][1]]

    def weighted_sum(y_true, y_pred):
        return sum(weight * LOSS_TABLE[name](y_true, y_pred) for weight, name in terms)

    weighted_sum.__name__ = "+".join(f"{w:g}*{n}" for w, n in terms)
    return weighted_sum
