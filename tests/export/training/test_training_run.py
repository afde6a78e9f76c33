"""Training for real (TensorFlow, very_low, a few steps on this CPU): the loss, starts
from published weights and VGG16, resume and interrupt, export as a named model and
``saliency-cam image --model NAME``."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tf2onnx")

from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.training.datasets.folder import read_folder  # noqa: E402
from saliency_cam.export.training.loss import EPS, kld  # noqa: E402
from saliency_cam.export.training.splits import fraction_split  # noqa: E402
from saliency_cam.export.training.trainer import (  # noqa: E402
    TrainConfig,
    TrainingInterrupted,
    fit,
)
from saliency_cam.models.errors import SaliencyCamError  # noqa: E402
from saliency_cam.realtime.cli.main import main  # noqa: E402

VERY_LOW = (48, 64)


def numpy_kld(truth: np.ndarray, pred: np.ndarray) -> float:
    """docs/design.md §10 written out in numpy, image by image."""
    values = []
    for t, p in zip(truth, pred, strict=True):
        q = t / (EPS + t.sum())
        pp = p / (EPS + p.sum())
        values.append(np.sum(q * np.log(EPS + q / (EPS + pp))))
    return float(np.mean(values))


def test_kld_loss_matches_the_numpy_definition() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0, 255, (3, 6, 8, 1)).astype(np.float32)
    truth[0, :3] = 0  # zeros in q must not produce NaN
    pred = rng.uniform(0, 1, (3, 6, 8, 1)).astype(np.float32)
    assert float(kld(truth, pred)) == pytest.approx(numpy_kld(truth, pred), rel=1e-5)
    assert float(kld(truth, truth / 255)) == pytest.approx(0.0, abs=1e-5)


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    """40 images (30 train, 10 validation): enough to show learning."""
    root = make_disc_study(tmp_path_factory.mktemp("study") / "discs", 40)
    data = read_folder(root)
    return root, data, fraction_split(len(data.samples), 0.25)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory):
    """12 images (9 train, 3 validation): for the mechanics (resume, signals, export)."""
    root = make_disc_study(tmp_path_factory.mktemp("small") / "discs", 12, seed=1)
    data = read_folder(root)
    return root, data, fraction_split(len(data.samples), 0.25)


def test_it_learns_where_the_discs_are(study, tmp_path: Path) -> None:
    """From random init at very_low, validation CC and NSS rise well above their start
    and above a centre-bias map on the held-out images."""
    from saliency_cam.export.training.datasets.folder import fixation_mask, target_map
    from saliency_cam.models import metrics

    _, data, split = study
    config = TrainConfig(
        size=VERY_LOW, epochs=2, batch_size=2, lr=3e-4, sigma=4.0, validate_start=True
    )
    result = fit(data, split, config, tmp_path / "run")
    start, best = result.history[0], min(result.history[1:], key=lambda r: r["val_loss"])
    centre = {"cc": [], "nss": []}
    for index in split[1]:
        sample = data.samples[index]
        truth = target_map(sample, 4.0)
        prior = metrics.center_bias_map(truth.shape)
        centre["cc"].append(metrics.cc(prior, truth))
        centre["nss"].append(metrics.nss(prior, fixation_mask(sample, truth.shape)))
    centre_cc, centre_nss = np.mean(centre["cc"]), np.mean(centre["nss"])
    print(f"start {start}\nbest {best}\ncentre cc {centre_cc:.3f} nss {centre_nss:.3f}")
    assert best["val_loss"] < start["val_loss"] - 0.2
    assert best["val_cc"] > start["val_cc"] + 0.15 and best["val_cc"] > centre_cc + 0.15
    assert best["val_nss"] > start["val_nss"] + 0.5 and best["val_nss"] > centre_nss + 0.5
    assert (tmp_path / "run" / "best.weights.h5").is_file()
    history = json.loads((tmp_path / "run" / "history.json").read_text())
    assert [row["epoch"] for row in history] == [0, 1, 2]
    assert (tmp_path / "run" / "history.png").stat().st_size > 1000


def test_stop_resume_and_signal_continue_the_same_run(small, tmp_path: Path) -> None:
    """max_steps stops mid-epoch; a real SIGINT saves a resumable state (the best
    weights untouched); each resume continues step count, optimiser moments, data
    order and history; a resume with other settings is refused."""
    _, data, split = small
    config = TrainConfig(size=VERY_LOW, epochs=3, batch_size=3, lr=1e-4, sigma=4.0)
    run = tmp_path / "run"  # 9 training images: 3 steps per epoch
    first = fit(data, split, TrainConfig(**{**config.__dict__, "max_steps": 4}), run)
    assert first.steps == 4 and first.epochs_done == 1 and len(first.history) == 1
    state = json.loads((run / "state.json").read_text())
    assert state["batch_in_epoch"] == 1 and state["step"] == 4
    reader = tf.train.load_checkpoint(str(run / "latest" / state["checkpoint"]))
    iterations = [k for k in reader.get_variable_to_shape_map() if "iteration" in k]
    assert iterations and int(reader.get_tensor(iterations[0])) == 4
    best_before = (run / "best.weights.h5").read_bytes()
    handler_before = signal.getsignal(signal.SIGINT)

    def interrupt(step: int, loss: float) -> None:
        if step == 5:
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, through the handler

    with pytest.raises(TrainingInterrupted, match="resume"):
        fit(data, split, config, run, on_step=interrupt)
    state = json.loads((run / "state.json").read_text())
    assert state["step"] == 5 and state["epoch"] == 1 and state["batch_in_epoch"] == 2
    assert (run / "best.weights.h5").read_bytes() == best_before
    assert signal.getsignal(signal.SIGINT) == handler_before  # handlers restored

    with pytest.raises(SaliencyCamError, match="other settings"):
        fit(data, split, TrainConfig(**{**config.__dict__, "batch_size": 1}), run)
    resumed = fit(data, split, config, run)
    assert resumed.steps == 9 and resumed.epochs_done == 3
    assert [r["epoch"] for r in resumed.history] == [1, 2, 3]
    assert resumed.history[0] == first.history[0]


def test_fine_tune_starts_from_exactly_the_published_weights(small, tmp_path: Path) -> None:
    from published_formats import seeded_weights, write_frozen_graph

    from saliency_cam.export.readers import read_weights
    from saliency_cam.export.readers.keras_weights import read_keras_weights
    from saliency_cam.export.training.init import initial_weights
    from saliency_cam.models.registry import DATASET_PRESETS

    _, data, split = small
    pb = write_frozen_graph(seeded_weights(5), tmp_path / "model_salicon_cpu.pb")
    start = initial_weights("salicon", pb)
    exported = read_weights("pb", DATASET_PRESETS["salicon"], pb).weights
    assert start.weights.keys() == exported.keys()
    assert all(np.array_equal(start.weights[k], exported[k]) for k in exported)

    config = TrainConfig(size=VERY_LOW, epochs=1, batch_size=3, lr=1e-4, freeze="encoder")
    result = fit(data, split, config, tmp_path / "run", start.weights)
    trained = read_keras_weights(result.best_weights).weights
    assert np.array_equal(trained["conv3/conv3_1/kernel"], exported["conv3/conv3_1/kernel"])
    assert not np.array_equal(trained["decoder/conv4/kernel"], exported["decoder/conv4/kernel"])
    assert not np.array_equal(trained["aspp/conv2/kernel"], exported["aspp/conv2/kernel"])


def test_vgg16_starts_reverse_conv1_for_rgb(tmp_path: Path) -> None:
    import keras

    from saliency_cam.export.training.init import (
        hybrid_checkpoint_weights,
        keras_vgg16_weights,
    )

    keras.utils.set_random_seed(2)
    vgg = keras.applications.VGG16(include_top=False, weights=None, input_shape=(32, 32, 3))
    vgg.save_weights(tmp_path / "vgg16.weights.h5")
    got = keras_vgg16_weights(tmp_path / "vgg16.weights.h5")
    bgr = vgg.get_layer("block1_conv1").get_weights()[0]
    np.testing.assert_array_equal(got["conv1/conv1_1/kernel"], bgr[:, :, ::-1, :])
    np.testing.assert_array_equal(
        got["conv5/conv5_3/kernel"], vgg.get_layer("block5_conv3").get_weights()[0]
    )
    assert len(got) == 26

    # the original's TF1 checkpoint: conv1/conv1_1/weights, .../biases
    graph = tf.Graph()
    with graph.as_default():
        for scope, name in zip(
            [k.rsplit("/", 1)[0] for k in got if k.endswith("/kernel")],
            [v for k, v in got.items() if k.endswith("/kernel")],
            strict=True,
        ):
            tf.compat.v1.Variable(name, name=f"{scope}/weights")
            tf.compat.v1.Variable(got[f"{scope}/bias"], name=f"{scope}/biases")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(tmp_path / "hybrid" / "vgg16_hybrid.ckpt"))
    hybrid = hybrid_checkpoint_weights(tmp_path / "hybrid")
    assert all(np.array_equal(hybrid[k], got[k]) for k in got)


def test_train_command_exports_a_model_that_image_runs(
    small, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, _, _ = small
    models = tmp_path / "models"
    args = ["train", str(root), "--name", "discs", "-q", "very_low", "--init", "random"]
    args += ["--epochs", "1", "--batch-size", "3", "--lr", "1e-4", "--val-split", "0.25"]
    args += ["--sigma", "4", "--models-dir", str(models)]
    main(args)
    out = capsys.readouterr()
    assert "saliency-cam --model discs" in out.out

    from saliency_cam import list_models, open_session

    entry = [m for m in list_models(models) if m.name == "discs"]
    assert entry and entry[0].kind == "user" and entry[0].exported == ("fp32",)
    assert entry[0].trained == {"fp32": True}
    session = open_session("discs", models_dir=models)
    assert session.variant.parity["max_abs"] <= 1e-4
    card = json.loads((models / "user" / "discs" / "card.json").read_text())
    assert card["init"].startswith("random") and card["best_validation"]["val_loss"] > 0

    image = root / "stimuli" / "img_000.png"
    main(
        ["image", str(image), "--model", "discs", "--models-dir", str(models), "-o", str(tmp_path)]
    )
    import cv2

    saliency = cv2.imread(str(tmp_path / "img_000_saliency.png"), cv2.IMREAD_GRAYSCALE)
    assert saliency.shape == (96, 128) and saliency.max() > saliency.min()

    # the name is taken now: a second run refuses instead of overwriting
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code != 0 and "already exists" in capsys.readouterr().err


def test_bad_data_lists_the_files_and_trains_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_disc_study(tmp_path / "bad", 3)
    (root / "stimuli" / "img_001.png").write_bytes(b"broken")
    (root / "stimuli" / "extra.png").write_bytes((root / "stimuli" / "img_000.png").read_bytes())
    with pytest.raises(SystemExit) as info:
        main(["train", str(root), "--init", "random", "--models-dir", str(tmp_path / "m")])
    err = capsys.readouterr().err
    assert info.value.code != 0 and "Traceback" not in err
    assert "img_001.png" in err and "extra.png" in err
    assert not (tmp_path / "m").exists()
