"""The live engine's session pool and quality switch resolve user models (``saliency-cam
train``) in the models folder they open from, not only in the default one."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from known_models import register_brightness_model

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.pipeline.quality_switch import SaliencyEngine, SessionPool
from saliency_cam.realtime.runtime.session import open_session


def test_pool_and_switch_find_user_models_in_their_folder(tmp_path: Path) -> None:
    register_brightness_model(tmp_path, "bright-a", (48, 64))
    register_brightness_model(tmp_path, "bright-b", (24, 32))
    pool = SessionPool(lambda name: open_session(name, models_dir=tmp_path, device="cpu"), tmp_path)
    engine = SaliencyEngine(pool, "bright-a")
    assert engine.preset == "bright-a" and engine.current.trained
    engine.request("bright-b")
    deadline = time.monotonic() + 30
    while pool.loaded("bright-b") is False and time.monotonic() < deadline:
        time.sleep(0.05)
    assert pool.loaded("bright-b")
    picture = np.full((60, 80, 3), 10, np.uint8)
    picture[:, 60:] = 240
    saliency = pool.get("bright-b").predict(picture)
    assert saliency[:, 65:].min() > 0.8 and saliency[:, :50].max() < 0.1
    with pytest.raises(SaliencyCamError, match="your models are bright-a, bright-b"):
        pool.name("bright-c")
    # the default folder does not have them: the pool's folder is what counts
    with pytest.raises(SaliencyCamError):
        SessionPool(pool._opener, tmp_path / "elsewhere").name("bright-a")
