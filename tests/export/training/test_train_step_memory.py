"""fit() gives back what it built: a training step traced again and again in one process
(a sweep, distillation of several students, this test suite) must not keep every model
and its Adam moments alive. Keras' one-device gradient all-reduce did: ~300 MB per fit
at very_low, GBs over the suite."""

from __future__ import annotations

import gc
import sys

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from saliency_cam.export.training.steps import (  # noqa: E402
    make_train_step,
    skip_one_device_all_reduce,
)

WIDTH = 2048  # one Dense layer: 4.2 M weights, 50 MB with Adam's two moments


def _mse(maps, pred):
    return tf.reduce_mean(tf.square(maps - pred))


def _model_and_optimizer(seed: int = 0):
    keras.utils.set_random_seed(seed)
    model = keras.Sequential([keras.Input((WIDTH,)), keras.layers.Dense(WIDTH)])
    optimizer = keras.optimizers.Adam(1e-2)
    optimizer.build(model.trainable_variables)
    return model, optimizer


def _resident_mb() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        return next(int(line.split()[1]) // 1024 for line in status if line.startswith("VmRSS"))


def _release() -> None:
    import ctypes

    keras.backend.clear_session()
    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc, glibc malloc_trim")
def test_repeated_training_steps_do_not_keep_their_models() -> None:
    batch = tf.ones((2, WIDTH)), tf.zeros((2, WIDTH))
    resident = []
    for _ in range(6):
        model, optimizer = _model_and_optimizer()
        make_train_step(model, optimizer, _mse)(*batch)
        del model, optimizer
        _release()
        resident.append(_resident_mb())
    # before the fix each round kept ~50 MB (250 MB over the last five rounds)
    assert resident[-1] - resident[1] < 100, resident


def test_skipping_the_one_device_sum_gives_the_same_update() -> None:
    batch = tf.ones((2, WIDTH)), tf.fill((2, WIDTH), 0.5)
    weights = []
    for skip in (False, True):
        model, optimizer = _model_and_optimizer(seed=3)
        if skip:
            skip_one_device_all_reduce(optimizer)

        @tf.function
        def step(images, maps, model=model, optimizer=optimizer):
            with tf.GradientTape() as tape:
                loss = _mse(maps, model(images, training=True))
            grads = tape.gradient(loss, model.trainable_variables)
            optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))

        for _ in range(3):
            step(*batch)
        weights.append([np.array(v) for v in model.trainable_variables])
    assert all(np.array_equal(a, b) for a, b in zip(*weights, strict=True))
    assert not np.array_equal(weights[0][1], np.zeros(WIDTH))  # it did train
