"""The live page draws the map where it belongs: a real headless Chromium whose fake
camera shows one bright disc moving left to right, a real server, and a real ONNX model
whose map is known (the picture's brightness, tests/support/known_models.py) registered
as a user model. The heatmap's peak on the page's canvas must sit on the disc, mirrored
when the page mirrors, at the disc's height (a wrong letterbox undo would move it)."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium")
from browser import MISSING, open_chromium, wait_until, write_disc_y4m  # noqa: E402
from known_models import register_brightness_model  # noqa: E402

from saliency_cam.models.manifest import Manifest  # noqa: E402
from saliency_cam.realtime.apps.serve import ServeConfig, running_server  # noqa: E402

pytestmark = pytest.mark.skipif(bool(MISSING), reason=MISSING)

#: Where the disc is, as fractions of the frame: its height, and the x range it sweeps.
CLIP_SIZE = (180, 320)
DISC_Y = 60
#: How far the map's peak may trail the disc (the map is one round trip old; the disc
#: crosses the frame in 4 s) and how far off its height it may be (no motion there).
X_TOLERANCE = 0.12
Y_TOLERANCE = 0.05

#: One sample, in the page: the disc's centre in the camera's current frame and the
#: centre of the hottest heatmap pixels on the live canvas (heatmap view), as fractions.
SAMPLE_JS = """
const centre = (data, w, h, hot) => {
  let sx = 0, sy = 0, n = 0;
  for (let i = 0, p = 0; i < data.length; i += 4, p++) {
    if (hot(data[i], data[i + 1], data[i + 2])) { sx += p % w; sy += Math.floor(p / w); n++; }
  }
  return n ? {x: (sx / n + 0.5) / w, y: (sy / n + 0.5) / h, n} : null;
};
const video = document.getElementById('camera');
const grab = document.createElement('canvas');
grab.width = video.videoWidth; grab.height = video.videoHeight;
grab.getContext('2d').drawImage(video, 0, 0);
const frame = grab.getContext('2d').getImageData(0, 0, grab.width, grab.height).data;
const canvas = document.getElementById('live-canvas');
const shown = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
return {
  disc: centre(frame, grab.width, grab.height, (r, g, b) => r > 140),
  // the top of the colormap (inferno: pale yellow); the map there is above ~0.8
  heat: centre(shown, canvas.width, canvas.height, (r, g, b) => r + g + b > 450),
  quality: window.saliencyLive.mapMeta ? window.saliencyLive.mapMeta.quality : null,
  frame: [grab.width, grab.height],
  canvas: [canvas.width, canvas.height],
};
"""


@pytest.fixture(scope="module")
def models(tiny_models_dir: Path, tmp_path_factory) -> Path:
    """The random-weight very_low (the server's default) and the brightness model."""
    directory = tmp_path_factory.mktemp("known_models")
    untrained = Manifest.load(tiny_models_dir).find("very_low")
    shutil.copy2(untrained.path, directory / untrained.file)
    with Manifest.editing(directory) as manifest:
        manifest.put(replace(untrained))
    register_brightness_model(directory, "brightness", (48, 64))
    return directory


@pytest.fixture(scope="module")
def page(models: Path, tmp_path_factory):
    clip = write_disc_y4m(tmp_path_factory.mktemp("camera") / "disc.y4m", size=CLIP_SIZE)
    config = ServeConfig(quality="very_low", models_dir=models, device="cpu")
    with running_server(config) as server:
        driver = open_chromium(clip)
        try:
            driver.get(server.url + "/")
            yield server, driver
        finally:
            driver.quit()


def sample_track(driver, count: int = 24, every_s: float = 0.25) -> list[dict]:
    """``count`` samples ``every_s`` apart (about 1.5 sweeps of the disc)."""
    samples = []
    for _ in range(count):
        value = driver.execute_script(SAMPLE_JS)
        if value["disc"] and value["heat"]:
            samples.append(value)
        time.sleep(every_s)
    return samples


def check_follows(samples: list[dict], mirrored: bool) -> None:
    """The heat's centre is on the disc (mirrored on screen when ``mirrored``) in all
    but two samples: one may straddle the loop's jump from right back to left, one may
    catch a stalled page (a screenshot pauses drawing)."""
    assert len(samples) >= 16, f"only {len(samples)} usable samples"
    disc_x = np.array([s["disc"]["x"] for s in samples])
    heat_x = np.array([s["heat"]["x"] for s in samples])
    heat_y = np.array([s["heat"]["y"] for s in samples])
    expected_x = 1.0 - disc_x if mirrored else disc_x
    # the disc went both ways far from the middle, where a mirror mistake is large
    assert disc_x.min() < 0.3 and disc_x.max() > 0.7, disc_x
    track = list(zip(expected_x.round(2), heat_x.round(2), heat_y.round(2), strict=True))
    misses = np.abs(heat_x - expected_x) >= X_TOLERANCE
    misses |= np.abs(heat_y - DISC_Y / CLIP_SIZE[0]) >= Y_TOLERANCE
    assert misses.sum() <= 2, f"(expected x, heat x, heat y): {track}"


def test_heatmap_peak_follows_the_moving_disc(page, tmp_path: Path) -> None:
    from selenium.webdriver.support.ui import Select

    server, driver = page
    wait_until(lambda: driver.execute_script("return window.saliencyLive.received || 0") >= 3)
    assert driver.find_element("id", "untrained-banner").is_displayed()  # very_low: random
    button = wait_until(
        lambda: driver.find_elements(
            "css selector", '#quality-buttons button[data-quality="brightness"]'
        ),
        what="the user model's button",
    )[0]
    assert button.get_attribute("data-kind") == "user"
    button.click()
    wait_until(
        lambda: driver.execute_script(SAMPLE_JS)["quality"] == "brightness",
        what="maps from the brightness model",
    )
    assert server.app.state.metrics.value("saliency_live_frames_total", model="brightness") >= 1
    assert not driver.find_element("id", "untrained-banner").is_displayed()
    Select(driver.find_element("id", "live-view")).select_by_value("heatmap")

    # mirror is on by default (a selfie view): the peak moves right to left on screen
    assert driver.find_element("id", "live-mirror").is_selected()
    time.sleep(0.5)
    mirrored = sample_track(driver)
    driver.save_screenshot(str(tmp_path / "mirrored.png"))
    first = mirrored[0]
    assert first["frame"] == [CLIP_SIZE[1], CLIP_SIZE[0]] and first["canvas"] == first["frame"]
    check_follows(mirrored, mirrored=True)

    driver.find_element("id", "live-mirror").click()
    time.sleep(0.5)
    plain = sample_track(driver)
    driver.save_screenshot(str(tmp_path / "plain.png"))
    check_follows(plain, mirrored=False)
