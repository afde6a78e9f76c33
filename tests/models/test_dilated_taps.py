"""dilated_as_taps (the trainer's form of the dilated convolutions) computes the same
function as Keras' Conv2D: outputs and gradients match, and its weights load into the
plain model that export uses."""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402

from saliency_cam.export.training.loss import kld  # noqa: E402
from saliency_cam.models.msinet import (  # noqa: E402
    build_msinet,
    dilated_as_taps,
    extract_weights,
    load_weights,
)


def _value_and_grads(layer_or_model, x, target=None):
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer_or_model(x)
        loss = tf.reduce_sum(y * y) if target is None else kld(target, y)
    grads = tape.gradient(loss, [x, *layer_or_model.trainable_variables])
    return y.numpy(), [g.numpy() for g in grads]


def _close(a, b, tol):
    scale = max(float(np.max(np.abs(b))), 1e-12)
    return float(np.max(np.abs(a - b))) / scale <= tol


@pytest.mark.parametrize(
    ("size", "rate", "kernel"),
    [
        ((20, 28), 2, 3),  # every tap inside
        ((20, 28), 12, 3),  # outer taps partly inside
        ((6, 8), 8, 3),  # only the middle column/row of taps reaches the map
        ((6, 8), 12, 3),  # only the centre tap
        ((9, 7), 4, 5),  # odd sizes, 5x5 kernel
    ],
)
def test_layer_matches_conv2d_outputs_and_gradients(size, rate, kernel) -> None:
    rng = np.random.default_rng(rate)
    x = rng.standard_normal((2, *size, 5)).astype(np.float32)
    args = dict(
        filters=4, kernel_size=kernel, padding="same", dilation_rate=rate, activation="relu"
    )
    plain, taps = keras.layers.Conv2D(**args), dilated_as_taps(keras.layers.Conv2D(**args))
    plain.build(x.shape)
    taps.build(x.shape)
    taps.set_weights(plain.get_weights())
    y_plain, g_plain = _value_and_grads(plain, x)
    y_taps, g_taps = _value_and_grads(taps, x)
    np.testing.assert_allclose(y_taps, y_plain, atol=1e-5)
    for got, want in zip(g_taps, g_plain, strict=True):
        assert _close(got, want, 1e-5)


def test_unknown_size_uses_every_tap() -> None:
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 6, 8, 3)).astype(np.float32)
    args = dict(filters=2, kernel_size=3, padding="same", dilation_rate=4)
    plain, taps = keras.layers.Conv2D(**args), dilated_as_taps(keras.layers.Conv2D(**args))
    inputs = keras.Input((None, None, 3))
    model_plain = keras.Model(inputs, plain(inputs))
    model_taps = keras.Model(inputs, taps(inputs))
    taps.set_weights(plain.get_weights())
    np.testing.assert_allclose(model_taps(x), model_plain(x), atol=1e-5)


def test_training_model_is_the_export_model() -> None:
    """Whole MSI-Net at 48x64: the KLD loss's value and every gradient agree with the
    plain model, and weights saved from the training model load into the plain one."""
    keras.utils.set_random_seed(0)
    plain = build_msinet(48, 64)
    taps = build_msinet(48, 64, dilated_taps=True)
    # conv5_1..3 and ASPP conv1_2..4
    assert sum(getattr(layer, "computes_by_taps", False) for layer in taps.layers) == 6
    assert not any(getattr(layer, "computes_by_taps", False) for layer in plain.layers)
    load_weights(taps, extract_weights(plain))
    rng = np.random.default_rng(0)
    x = rng.uniform(0, 255, (1, 48, 64, 3)).astype(np.float32)
    target = tf.constant(rng.uniform(0, 1, (1, 48, 64, 1)).astype(np.float32))
    y_plain, g_plain = _value_and_grads(plain, x, target)
    y_taps, g_taps = _value_and_grads(taps, x, target)
    np.testing.assert_allclose(y_taps, y_plain, atol=1e-5)
    assert _close(g_taps[0], g_plain[0], 1e-3)  # the input's gradient, on its own scale
    assert _weight_grads_agree(g_taps[1:], g_plain[1:], 1e-3)


def _weight_grads_agree(got: list, want: list, tol: float) -> bool:
    """Each weight gradient within ``tol`` of its own largest value, or of 1 % of the
    model's largest weight gradient where that is larger. The output is min-max
    normalised, so the last convolution's bias has a gradient of exactly zero in exact
    arithmetic: what is computed there (~1e-8) is float32 rounding noise that differs
    between kernels (AVX2 vs AVX-512/AMX oneDNN), and judging it on its own scale
    compares noise with noise."""
    floor = 1e-2 * max(float(np.max(np.abs(w))) for w in want)
    return all(
        float(np.max(np.abs(a - b))) <= tol * max(float(np.max(np.abs(b))), floor)
        for a, b in zip(got, want, strict=True)
    )


def test_weight_gradient_comparison_ignores_noise_but_not_errors() -> None:
    """The comparison above: rounding noise in a gradient that should be zero passes
    (a relative comparison failed on AVX-512 CPUs), a 1 % error in any gradient fails."""
    rng = np.random.default_rng(0)
    want = [rng.standard_normal((3, 3, 4, 4)) * 0.05, rng.standard_normal(4) * 1e-3]
    want.append(rng.standard_normal(1) * 4e-8)  # the bias before the normalisation
    noisy = [w.copy() for w in want]
    noisy[-1] = noisy[-1] + 1e-7
    assert _weight_grads_agree(noisy, want, 1e-3)
    assert not _close(noisy[-1], want[-1], 1e-3)  # what the old comparison said
    for i in range(2):
        wrong = [w.copy() for w in want]
        wrong[i] = wrong[i] * 1.01
        assert not _weight_grads_agree(wrong, want, 1e-3)


def test_weights_saved_by_training_model_load_into_plain(tmp_path) -> None:
    keras.utils.set_random_seed(1)
    taps = build_msinet(48, 64, dilated_taps=True)
    path = tmp_path / "m.weights.h5"
    taps.save_weights(path)
    plain = build_msinet(48, 64)
    plain.load_weights(path)
    for name, value in extract_weights(taps).items():
        np.testing.assert_array_equal(extract_weights(plain)[name], value, err_msg=name)
