"""Training losses (TensorFlow). The default is the original's KLD (docs/design.md §10).

All take ``y_true`` (ground-truth maps, any non-negative scale, e.g. 0..255) and
``y_pred`` (the network's [0, 1] maps), both [N, H, W, 1], and return a scalar.

>>> loss_fn("kld")(truth, prediction)  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Callable

from saliency_cam.models.errors import SaliencyCamError

#: ε of the original loss, used in every normalisation below.
EPS = 1e-7
LOSSES: tuple[str, ...] = ("kld", "kld-cc", "nmse")


def kld(y_true, y_pred):
    """The original loss: ``mean_over_batch(Σ q·log(ε + q/(ε + p)))`` with
    q = y_true / (ε + Σ y_true), p = y_pred / (ε + Σ y_pred) per image."""
    import tensorflow as tf

    y_true = tf.cast(y_true, tf.float32)
    y_pred = tf.cast(y_pred, tf.float32)
    q = y_true / (EPS + tf.reduce_sum(y_true, axis=(1, 2, 3), keepdims=True))
    p = y_pred / (EPS + tf.reduce_sum(y_pred, axis=(1, 2, 3), keepdims=True))
    per_image = tf.reduce_sum(q * tf.math.log(EPS + q / (EPS + p)), axis=(1, 2, 3))
    return tf.reduce_mean(per_image)


def correlation(y_true, y_pred):
    """Pearson CC per image, averaged over the batch (the CC metric, differentiable)."""
    import tensorflow as tf

    axes = (1, 2, 3)
    t = tf.cast(y_true, tf.float32)
    p = tf.cast(y_pred, tf.float32)
    t = t - tf.reduce_mean(t, axis=axes, keepdims=True)
    p = p - tf.reduce_mean(p, axis=axes, keepdims=True)
    num = tf.reduce_sum(t * p, axis=axes)
    den = tf.sqrt(tf.reduce_sum(t * t, axis=axes) * tf.reduce_sum(p * p, axis=axes)) + EPS
    return tf.reduce_mean(num / den)


def kld_cc(y_true, y_pred, cc_weight: float = 1.0):
    """KLD − ``cc_weight``·CC: the combined loss later models (SalGAN/UNISAL era) use."""
    return kld(y_true, y_pred) - cc_weight * correlation(y_true, y_pred)


def nmse(y_true, y_pred, alpha: float = 1.1):
    """ML-Net's normalised MSE: ``mean((p/max p − g)² / (α − g))`` with g the ground
    truth scaled to max 1 (errors on salient pixels weigh more). ML-Net's learned centre
    prior is a layer of its own network and is not part of MSI-Net."""
    import tensorflow as tf

    axes = (1, 2, 3)
    g = tf.cast(y_true, tf.float32)
    g = g / (EPS + tf.reduce_max(g, axis=axes, keepdims=True))
    p = tf.cast(y_pred, tf.float32)
    p = p / (EPS + tf.reduce_max(p, axis=axes, keepdims=True))
    return tf.reduce_mean(tf.square(p - g) / (alpha - g))


def loss_fn(name: str) -> Callable:
    """The loss called ``name`` (``kld``, ``kld-cc``, ``nmse``)."""
    table = {"kld": kld, "kld-cc": kld_cc, "nmse": nmse}
    key = name.strip().lower().replace("_", "-")
    if key not in table:
        raise SaliencyCamError(f"unknown loss {name!r}: choose one of {', '.join(LOSSES)}")
    return table[key]
