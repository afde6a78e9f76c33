"""TensorFlow's log lines appear once: its C++ INFO lines are quiet once saliency_cam is
imported (each of TF's libraries printed its own copy), and its Python logger does not
print every line a second time through the root logger's handler that absl adds on its
first log call (a checkpoint save does it; here ``logging.basicConfig``, as absl calls)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

pytest.importorskip("tensorflow")

SCRIPT = """
import logging
import saliency_cam  # the package quiets TF's C++ INFO lines before TF loads
import tensorflow as tf
tf.constant(1.0) + 1.0  # TF's first op: where its CPU-feature INFO line came from
import saliency_cam.models.msinet  # what export and train load
logging.basicConfig()  # what absl.logging does on its first call without a handler
tf.get_logger().error("PROBE-LINE")
"""


def test_tensorflow_log_lines_are_printed_once() -> None:
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300,
        env=env, check=True,
    )  # fmt: skip
    assert done.stderr.count("PROBE-LINE") == 1, done.stderr[-2000:]
    assert "cpu_feature_guard" not in done.stderr, done.stderr[-2000:]
