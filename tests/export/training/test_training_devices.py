"""Where training computes: the strategy chooser, mixed precision (refused on CPU; a
mixed model still gives float32 maps and a float32 loss) and the MirroredStrategy step
(run for real on two logical CPU devices: the same update as one device)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
import keras  # noqa: E402
from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.training.devices import (  # noqa: E402
    MIXED_POLICY,
    choose_strategy,
    make_strategy,
    mixed_precision_policy,
)
from saliency_cam.export.training.loss import kld  # noqa: E402
from saliency_cam.export.training.trainer import (  # noqa: E402
    TrainConfig,
    _optimizer,
    build_model,
    make_train_step,
)
from saliency_cam.models.errors import SaliencyCamError  # noqa: E402
from saliency_cam.realtime.cli.main import main  # noqa: E402


def test_strategy_is_mirrored_only_for_several_devices() -> None:
    assert choose_strategy([]) == "default"
    assert choose_strategy(["/gpu:0"]) == "default"
    assert choose_strategy(["/gpu:0", "/gpu:1"]) == "mirrored"
    assert make_strategy([]).num_replicas_in_sync == 1


def test_mixed_precision_only_with_a_gpu() -> None:
    assert mixed_precision_policy(False, []) == "float32"
    assert mixed_precision_policy(True, ["/gpu:0"]) == MIXED_POLICY
    with pytest.raises(SaliencyCamError, match="needs a GPU"):
        mixed_precision_policy(True, [])


@pytest.mark.skipif(bool(tf.config.list_physical_devices("GPU")), reason="a GPU is visible")
def test_cli_refuses_mixed_precision_on_cpu_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_disc_study(tmp_path / "study", 3)
    models = tmp_path / "m"
    with pytest.raises(SystemExit) as info:
        main(["train", str(root), "--init", "random", "--models-dir", str(models),
              "--mixed-precision"])  # fmt: skip
    err = capsys.readouterr().err
    assert info.value.code != 0 and "Traceback" not in err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "--mixed-precision needs a GPU" in lines[0]
    assert not models.exists()


def test_mixed_model_gives_float32_maps_and_loss_and_trains() -> None:
    """float16 compute (works on CPU, slowly), float32 variables, output and loss; a
    loss-scaled step changes the weights; the global policy is left as it was."""
    config = TrainConfig(size=(48, 64), mixed_precision=True)
    model = build_model(config, {}, seed=0, policy=MIXED_POLICY)
    assert keras.config.dtype_policy().name == "float32"
    conv = model.get_layer("conv1__conv1_1")
    assert conv.compute_dtype == "float16" and conv.kernel.dtype == "float32"
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(0, 255, (2, 48, 64, 3)).astype(np.float32))
    maps = tf.constant(rng.uniform(0, 1, (2, 48, 64, 1)).astype(np.float32))
    out = model(images)
    assert out.dtype == tf.float32
    assert float(tf.reduce_min(out)) >= 0.0 and float(tf.reduce_max(out)) <= 1.0 + 1e-6
    optimizer = _optimizer(config, steps_per_epoch=1)
    assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
    before = conv.kernel.numpy().copy()
    loss = make_train_step(model, optimizer, kld)(images, maps)
    assert loss.dtype == tf.float32 and np.isfinite(float(loss))
    assert not np.array_equal(conv.kernel.numpy(), before)


def _run_on_two_cpus(script_text: str, tmp_path: Path, *args: str) -> dict:
    """Run a script that splits the CPU into two logical devices (only possible before
    TensorFlow starts, hence a fresh process); return the JSON of its last line."""
    script = tmp_path / "two_cpus.py"
    script.write_text(script_text)
    support = str(Path(__file__).resolve().parents[2] / "support")
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONPATH": support}
    done = subprocess.run(
        [sys.executable, str(script), *args], capture_output=True, text=True,
        env=env, timeout=600, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


_MIRRORED = textwrap.dedent(
    """
    import json, sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    from saliency_cam.export.training.devices import make_strategy
    from saliency_cam.export.training.loss import kld
    from saliency_cam.export.training.trainer import TrainConfig, build_model, make_train_step

    batch = int(sys.argv[1])
    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (batch, 48, 64, 3)).astype(np.float32)
    maps = rng.uniform(0, 1, (batch, 48, 64, 1)).astype(np.float32)
    config = TrainConfig(size=(48, 64), batch_size=batch)

    def one_step(strategy):
        with strategy.scope():
            model = build_model(config, {}, seed=0)
            optimizer = keras.optimizers.SGD(0.5)  # update ∝ gradient: scale errors show
        before = model.get_layer("decoder__conv4").kernel.numpy().copy()
        replicas = strategy.num_replicas_in_sync
        step = make_train_step(model, optimizer, kld,
                               strategy=strategy if replicas > 1 else None)
        ds = tf.data.Dataset.from_tensor_slices((images, maps)).batch(batch)
        if replicas > 1:
            ds = strategy.experimental_distribute_dataset(ds)
        images_b, maps_b = next(iter(ds))
        loss = float(step(images_b, maps_b))
        after = model.get_layer("decoder__conv4").kernel.numpy()
        return replicas, loss, (after - before).ravel().tolist()

    single = one_step(make_strategy([]))
    mirrored = one_step(make_strategy(["/cpu:0", "/cpu:1"]))
    print(json.dumps({"single": single, "mirrored": mirrored}))
    """
)


@pytest.mark.parametrize("batch", [2, 3])  # 3: an uneven split (2 + 1)
def test_mirrored_step_equals_one_device_step(batch: int, tmp_path: Path) -> None:
    result = _run_on_two_cpus(_MIRRORED, tmp_path, str(batch))
    (one, loss_one, delta_one), (two, loss_two, delta_two) = result["single"], result["mirrored"]
    assert (one, two) == (1, 2)
    assert loss_two == pytest.approx(loss_one, rel=1e-4)
    delta_one, delta_two = np.array(delta_one), np.array(delta_two)
    assert np.abs(delta_one).max() > 0
    np.testing.assert_allclose(delta_two, delta_one, rtol=1e-3, atol=1e-3 * np.abs(delta_one).max())


_MIRRORED_RESUME = textwrap.dedent(
    """
    import json, sys
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from saliency_data import make_disc_study
    from saliency_cam.export.readers.keras_weights import read_keras_weights
    from saliency_cam.export.training.datasets.folder import read_folder
    from saliency_cam.export.training.splits import fraction_split
    from saliency_cam.export.training.trainer import TrainConfig, fit

    root = make_disc_study(__import__("pathlib").Path(sys.argv[1]) / "discs", 12, seed=1)
    data = read_folder(root)
    split = fraction_split(len(data.samples), 0.25)  # 9 training images
    config = TrainConfig(size=(48, 64), epochs=1, batch_size=3, lr=1e-4, sigma=4.0,
                         devices=("/cpu:0", "/cpu:1"))
    straight = fit(data, split, config, sys.argv[1] + "/straight")
    fit(data, split, TrainConfig(**{**config.__dict__, "max_steps": 2}), sys.argv[1] + "/split")
    resumed = fit(data, split, config, sys.argv[1] + "/split")

    def last(result):
        return read_keras_weights(result.best_weights).weights["decoder/conv4/kernel"]

    from checkpoints import latest_state, state_differences
    ends = [latest_state(result.run_dir) for result in (straight, resumed)]
    counters = ("step/.ATTRIBUTES/VARIABLE_VALUE",
                "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
    print(json.dumps({
        "steps": [straight.steps, resumed.steps],
        "history": [straight.history, resumed.history],
        "max_diff": float(np.abs(last(straight) - last(resumed)).max()),
        "moved": float(np.abs(last(straight)).max()),
        "counters": [[int(end[key]) for key in counters] for end in ends],
        "moments": sum(key.startswith("optimizer/_variables/") for key in ends[0]),
        "state_diff": state_differences(*ends),
    }))
    """
)


@pytest.mark.slow  # a fresh two-CPU TensorFlow process, three short fits (~1 min)
def test_mirrored_run_resumes_to_the_same_weights_as_an_unbroken_one(tmp_path: Path) -> None:
    """MirroredStrategy on two logical CPUs: a run stopped after 2 of its 3 steps and
    resumed ends at the same step, epoch loss, validation, best weights and whole
    resumable state (every weight, Adam's moments and count) as one that was never
    stopped (this found Adam's moments being made inside the first
    distributed step, which failed, and a resume before the first epoch's end)."""
    found = _run_on_two_cpus(_MIRRORED_RESUME, tmp_path, str(tmp_path))
    assert found["steps"] == [3, 3]
    straight, resumed = found["history"]
    assert [r["epoch"] for r in resumed] == [1]
    for a, b in zip(straight, resumed, strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-4)
        assert a["val_loss"] == pytest.approx(b["val_loss"], rel=1e-4)
    assert found["max_diff"] < 1e-5 * max(1.0, found["moved"])
    # the whole resumable state: every weight, Adam's moments and count, the step
    assert found["counters"] == [[3, 3], [3, 3]] and found["moments"] == 92
    far = {key: d for key, d in found["state_diff"].items() if d > 1e-4}
    assert not far, f"resumed state differs from the unbroken run's: {far}"
