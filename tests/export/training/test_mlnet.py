"""ML-Net: the network as the paper draws it, its prior and loss terms, and the reader of
the authors' Keras 1/Theano HDF5 weights (on a file written here in that layout)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
h5py = pytest.importorskip("h5py")

from saliency_cam.models.errors import SaliencyCamError, WeightsError  # noqa: E402
from saliency_cam.models.mlnet_layers import (  # noqa: E402
    LAYERS,
    PARAMETER_COUNT,
    PRIOR_SCOPE,
    PRIOR_WEIGHT,
)


def test_the_network_taps_three_levels_at_one_eighth_and_keeps_the_contract() -> None:
    import keras

    from saliency_cam.models.mlnet import build_mlnet

    model = build_mlnet(48, 64)
    assert model.count_params() == PARAMETER_COUNT
    taps = [model.get_layer(n).output for n in ("pool3", "pool4", "conv5__conv5_3")]
    assert [tuple(t.shape[1:]) for t in taps] == [(6, 8, 256), (6, 8, 512), (6, 8, 512)]
    assert tuple(model.get_layer("encoder_concat").output.shape[1:]) == (6, 8, 1280)
    frames = np.random.default_rng(0).uniform(0, 255, (2, 48, 64, 3)).astype(np.float32)
    maps = model(frames).numpy()
    assert maps.shape == (2, 48, 64, 1)
    assert np.allclose(maps.min(axis=(1, 2, 3)), 0) and np.allclose(maps.max(axis=(1, 2, 3)), 1)
    # the mean is subtracted inside, as MSI-Net does: the same contract for the exporter
    probe = keras.Model(model.input, model.get_layer("subtract_mean").output)
    assert np.allclose(probe(np.full((1, 48, 64, 3), 120, np.float32)).numpy()[0, 0, 0],
                       [120 - 103.939, 120 - 116.779, 120 - 123.68], atol=1e-4)  # fmt: skip


def test_the_prior_multiplies_the_map_and_dropout_only_trains() -> None:
    from saliency_cam.models.mlnet import PRIOR_LAYER, build_mlnet

    model = build_mlnet(48, 64)
    frames = np.random.default_rng(1).uniform(0, 255, (1, 48, 64, 3)).astype(np.float32)
    assert np.array_equal(model(frames).numpy(), model(frames).numpy())  # no dropout
    assert not np.array_equal(
        model(frames, training=True).numpy(), model(frames, training=True).numpy()
    )
    prior = np.zeros((6, 8), np.float32)
    prior[5, 7] = 1.0  # only the bottom-right cell lets the map through
    model.get_layer(PRIOR_LAYER).set_weights([prior])
    maps = model(frames).numpy()[0, :, :, 0]
    assert maps[:32, :].max() == 0 and maps[:, :48].max() == 0 and maps[40:, 56:].max() == 1


def test_prior_regulariser_is_lambda_times_squared_distance_from_ones() -> None:
    from saliency_cam.export.training.trainer import TrainConfig, build_model
    from saliency_cam.models.mlnet import PRIOR_LAYER

    config = TrainConfig(size=(48, 64), arch="mlnet", prior_weight=0.5)
    model = build_model(config, {}, seed=0)
    prior = np.ones((6, 8), np.float32)
    prior[0, 0], prior[2, 3] = 3.0, 0.5  # ‖1 − w‖² = 4 + 0.25
    model.get_layer(PRIOR_LAYER).set_weights([prior])
    assert float(sum(model.losses)) == pytest.approx(0.5 * 4.25)
    default = build_model(TrainConfig(size=(48, 64), arch="mlnet"), {}, seed=0)
    default.get_layer(PRIOR_LAYER).set_weights([prior])
    assert float(sum(default.losses)) == pytest.approx(PRIOR_WEIGHT * 4.25)
    without = build_model(TrainConfig(size=(48, 64), arch="mlnet", prior=False), {}, seed=0)
    assert not without.losses and not without.get_layer(PRIOR_LAYER).trainable
    names = {v.path for v in without.trainable_variables}
    assert not any("prior" in n for n in names)


def test_train_config_refuses_an_unknown_arch_in_one_line(tmp_path: Path) -> None:
    from saliency_cam.export.training import train

    with pytest.raises(SaliencyCamError, match="unknown architecture 'salnet'"):
        train(tmp_path, arch="salnet", export=False)


# --- the authors' weight file ---------------------------------------------------------


def _write_authors_file(path: Path, seed: int = 0) -> dict[str, np.ndarray]:
    """An ML-Net weight file as Keras 1 on Theano writes it (``save_weights``, inside
    ``model_weights`` as ``model.save`` does): layer groups named by Keras 1's counters,
    ``weight_names`` attributes, Theano kernels (out, in, kh, kw), and the prior layer's
    offset ``W`` (the prior is 1 + W). Returns the raw arrays by layer name."""
    rng = np.random.default_rng(seed)
    raw: dict[str, np.ndarray] = {}
    with h5py.File(path, "w") as h5:
        group = h5.create_group("model_weights")
        group.attrs["backend"] = b"theano"
        group.attrs["keras_version"] = b"1.1.0"
        group.create_group("input_1").attrs["weight_names"] = []
        names = [b"input_1"]
        for index, spec in enumerate(LAYERS, start=1):
            name = f"convolution2d_{index}"
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [f"{name}_W".encode(), f"{name}_b".encode()]
            kernel = rng.normal(0, 0.1, (spec.cout, spec.cin, spec.kernel, spec.kernel))
            raw[f"{name}_W"] = kernel.astype(np.float32)
            raw[f"{name}_b"] = rng.normal(0, 0.1, spec.cout).astype(np.float32)
            layer.create_dataset(f"{name}_W", data=raw[f"{name}_W"])
            layer.create_dataset(f"{name}_b", data=raw[f"{name}_b"])
            names.append(name.encode())
            if index in (2, 4, 7, 10):  # pools, merge and dropout carry no weights
                pool = f"maxpooling2d_{index}"
                group.create_group(pool).attrs["weight_names"] = []
                names.append(pool.encode())
        prior = group.create_group("eltwiseproduct_1")
        prior.attrs["weight_names"] = [b"eltwiseproduct_1_W"]
        raw["eltwiseproduct_1_W"] = rng.normal(0, 0.2, (6, 8)).astype(np.float32)
        prior.create_dataset("eltwiseproduct_1_W", data=raw["eltwiseproduct_1_W"])
        names.append(b"eltwiseproduct_1")
        group.attrs["layer_names"] = names
    return raw


def _theano_conv(image_chw: np.ndarray, kernel_oihw: np.ndarray) -> np.ndarray:
    """Theano's conv2d (a true convolution: the kernel flipped), 'same' borders."""
    from scipy.signal import convolve2d

    return np.stack(
        [
            sum(
                convolve2d(image_chw[c], kernel_oihw[o, c], mode="same")
                for c in range(len(image_chw))
            )
            for o in range(kernel_oihw.shape[0])
        ]
    )


def test_authors_theano_file_reads_as_the_same_filters(tmp_path: Path) -> None:
    """The read kernels compute, on RGB input, what the file's Theano kernels computed on
    the authors' BGR input; the prior is 1 + W; the model loads and runs."""
    from saliency_cam.export.readers.mlnet_h5 import read_mlnet_h5
    from saliency_cam.models.mlnet import build_mlnet, load_weights

    path = tmp_path / "mlnet_salicon_weights.pkl"  # the published name: HDF5 inside
    raw = _write_authors_file(path)
    loaded = read_mlnet_h5(path)
    assert loaded.arch == "mlnet" and loaded.trained and loaded.source == "mlnet-h5"
    rgb = np.random.default_rng(5).uniform(-50, 50, (12, 10, 3)).astype(np.float32)
    for index, scope in ((1, "conv1/conv1_1"), (3, "conv2/conv2_1")):
        spec = LAYERS[index - 1]
        image = rgb if index == 1 else np.random.default_rng(index).normal(0, 1, (12, 10, spec.cin))
        image = image.astype(np.float32)
        chw = image[:, :, ::-1] if index == 1 else image  # the authors fed BGR
        expected = _theano_conv(chw.transpose(2, 0, 1), raw[f"convolution2d_{index}_W"])
        ours = tf.nn.conv2d(image[None], loaded.weights[f"{scope}/kernel"], 1, "SAME")
        np.testing.assert_allclose(ours.numpy()[0].transpose(2, 0, 1), expected, atol=1e-4)
        np.testing.assert_array_equal(
            loaded.weights[f"{scope}/bias"], raw[f"convolution2d_{index}_b"]
        )
    np.testing.assert_allclose(loaded.weights[PRIOR_SCOPE], 1 + raw["eltwiseproduct_1_W"])
    assert loaded.weights["head/conv2/kernel"].shape == (1, 1, 64, 1)
    model = build_mlnet(48, 64)
    load_weights(model, loaded.weights)
    assert model(np.zeros((1, 48, 64, 3), np.float32)).shape == (1, 48, 64, 1)


def test_a_file_that_is_not_mlnet_is_one_line(tmp_path: Path) -> None:
    from saliency_cam.export.readers.mlnet_h5 import read_mlnet_h5

    path = tmp_path / "other.h5"
    with h5py.File(path, "w") as h5:
        h5.attrs["layer_names"] = [b"dense_1"]
        layer = h5.create_group("dense_1")
        layer.attrs["weight_names"] = [b"dense_1_W", b"dense_1_b"]
        layer.create_dataset("dense_1_W", data=np.zeros((4, 2), np.float32))
        layer.create_dataset("dense_1_b", data=np.zeros(2, np.float32))
    with pytest.raises(WeightsError, match="holds 1 layers with weights, ML-Net has 16"):
        read_mlnet_h5(path)
    (tmp_path / "text.h5").write_text("not hdf5")
    with pytest.raises(WeightsError, match="not a readable HDF5 file"):
        read_mlnet_h5(tmp_path / "text.h5")


def test_train_init_from_the_authors_file_starts_from_its_weights(tmp_path: Path) -> None:
    from saliency_cam.export.training.init import initial_weights

    path = tmp_path / "mlnet_salicon_weights.pkl"
    raw = _write_authors_file(path, seed=2)
    start = initial_weights(str(path), arch="mlnet")
    np.testing.assert_allclose(start.weights[PRIOR_SCOPE], 1 + raw["eltwiseproduct_1_W"])
    assert "authors" in start.description
    with pytest.raises(SaliencyCamError, match="for ML-Net: use random, imagenet"):
        initial_weights("salicon", arch="mlnet")  # MSI-Net's weights: another network
