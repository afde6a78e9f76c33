"""Resume on one device restores exactly what was saved: a run stopped mid-epoch and
resumed ends with the same weights, Adam moments and step counts as one never stopped
(TensorFlow, very_low, three steps). The two-device path has the same check in
test_training_devices.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("tensorflow")

from checkpoints import latest_state, state_differences  # noqa: E402
from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.training.datasets.folder import read_folder  # noqa: E402
from saliency_cam.export.training.trainer import TrainConfig, fit  # noqa: E402

VERY_LOW = (48, 64)
STEP = "step/.ATTRIBUTES/VARIABLE_VALUE"
ITERATIONS = "optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"


def test_single_device_resume_restores_weights_optimizer_and_step(tmp_path: Path) -> None:
    """Four training images at batch 1, three steps (mid-epoch: no validation to pay
    for): one run straight through, one stopped after step 2 and resumed. Every
    checkpointed array (all weights, Adam's iteration count and both moments of every
    weight) and the step agree, so nothing restarted from its initial value (a fresh
    model is seeded alike, but a step from it lands elsewhere; fresh Adam moments and
    count differ)."""
    root = make_disc_study(tmp_path / "data", 5, seed=6)
    data = read_folder(root)
    split = ([0, 1, 2, 3], [4])
    config = TrainConfig(size=VERY_LOW, epochs=1, batch_size=1, lr=1e-4, sigma=4.0, max_steps=3)
    straight = fit(data, split, config, tmp_path / "straight")
    stopped = fit(
        data, split, TrainConfig(**{**config.__dict__, "max_steps": 2}), tmp_path / "split"
    )
    assert (straight.steps, stopped.steps) == (3, 2)
    saved = latest_state(tmp_path / "split")
    assert int(saved[STEP]) == 2 and int(saved[ITERATIONS]) == 2
    resumed = fit(data, split, config, tmp_path / "split")
    assert resumed.steps == 3

    ends = latest_state(tmp_path / "straight"), latest_state(tmp_path / "split")
    assert [(int(s[STEP]), int(s[ITERATIONS])) for s in ends] == [(3, 3), (3, 3)]
    moments = [k for k in ends[0] if k.startswith("optimizer/_variables/")]
    weights = [k for k in ends[0] if k.startswith("optimizer/_trainable_variables/")]
    assert len(moments) == 2 * len(weights) == 92  # m and v of each of MSI-Net's 46 arrays
    far = {k: d for k, d in state_differences(*ends).items() if d > 1e-4}
    assert not far, f"resumed state differs from the unbroken run's: {far}"
    # the run's record resumes too: where in the epoch, and the epoch's loss so far
    states = [json.loads((tmp_path / r / "state.json").read_text()) for r in ("straight", "split")]
    assert [(s["epoch"], s["batch_in_epoch"], s["step"]) for s in states] == [(0, 3, 3)] * 2
    assert states[1]["epoch_loss_sum"] == pytest.approx(states[0]["epoch_loss_sum"], rel=1e-4)
