"""The web page in a real headless Chromium (Debian ``chromium`` + ``chromium-driver``,
through selenium), its camera faked from a generated y4m clip, against a real server.
Screenshots land in each test's tmp dir."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
pytest.importorskip("selenium")
from browser import MISSING, open_chromium, wait_until, write_y4m  # noqa: E402
from cli_process import image_command_map  # noqa: E402
from media_factory import make_clip, make_image, read_clip  # noqa: E402
from PIL import Image  # noqa: E402

from saliency_cam.realtime.apps.serve import ServeConfig, running_server  # noqa: E402

pytestmark = pytest.mark.skipif(bool(MISSING), reason=MISSING)


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    config = ServeConfig(quality="very_low", models_dir=tiny_models_dir)
    with running_server(config) as running:
        running.app.state.engine.session()
        yield running


@pytest.fixture(scope="module")
def browser(server, tmp_path_factory):
    clip = write_y4m(tmp_path_factory.mktemp("camera") / "clip.y4m")
    driver = open_chromium(clip)
    driver.get(server.url + "/")
    yield driver
    driver.quit()


def live_state(driver) -> dict:
    return driver.execute_script(
        "const l = window.saliencyLive;"
        "return {received: l.received || 0, fps: l.fps || 0, latency: l.latency,"
        " quality: l.mapMeta ? l.mapMeta.quality : null, connected: !!l.ws};"
    )


def canvas_spread(driver) -> float:
    """Standard deviation of the live canvas' pixels (0 for a blank canvas)."""
    return driver.execute_script(
        "const c = document.getElementById('live-canvas');"
        "const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        "let s = 0, s2 = 0, n = 0;"
        "for (let i = 0; i < d.length; i += 16) { s += d[i]; s2 += d[i] * d[i]; n++; }"
        "const m = s / n; return Math.sqrt(s2 / n - m * m);"
    )


def test_live_page_round_trips_frames_and_switches_quality(server, browser, tmp_path) -> None:
    # the page refreshes its FPS and latency figures every 500 ms; maps may come faster
    state = wait_until(
        lambda: (s := live_state(browser))["received"] >= 5 and s["latency"] is not None and s,
        what="maps and a measured latency",
    )
    wait_until(lambda: float(browser.find_element("id", "live-fps").text) > 0, what="FPS shown")
    browser.save_screenshot(str(tmp_path / "live_very_low.png"))
    assert state["quality"] == "very_low" and state["latency"] > 0
    assert canvas_spread(browser) > 10  # frame + heatmap drawn, not a blank canvas
    assert browser.find_element("id", "live-message").is_displayed() is False
    assert "UNTRAINED" in browser.find_element("id", "untrained-banner").text

    metrics = server.app.state.metrics
    connections = metrics.value("saliency_live_connections_total")
    browser.find_element("css selector", '#quality-buttons button[data-quality="low"]').click()
    wait_until(lambda: live_state(browser)["quality"] == "low", what="maps from the low model")
    before = live_state(browser)["received"]
    wait_until(lambda: live_state(browser)["received"] >= before + 3, what="more low maps")
    browser.save_screenshot(str(tmp_path / "live_low.png"))
    assert metrics.value("saliency_live_frames_total", model="low") >= 3
    assert metrics.value("saliency_live_connections_total") == connections  # no reconnect
    active = browser.find_element("css selector", "#quality-buttons button.active")
    assert active.get_attribute("data-quality") == "low"


def test_image_upload_shows_a_map_equal_to_the_image_command(
    server, browser, tiny_models_dir: Path, tmp_path: Path
) -> None:
    picture = make_image(tmp_path / "photo.png", 180, 120)
    browser.find_element("css selector", '.tab[data-tab="images"]').click()
    browser.find_element("id", "image-quality").send_keys("very_low")
    browser.find_element("id", "image-input").send_keys(str(picture))
    link = wait_until(
        lambda: browser.find_elements("css selector", "#image-results a.download-png"),
        what="the map's download link",
    )[0]
    wait_until(
        lambda: browser.find_elements("css selector", "#image-results canvas.result-overlay")
    )
    browser.save_screenshot(str(tmp_path / "images.png"))
    assert link.get_attribute("download") == "photo_saliency.png"
    encoded = browser.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch(arguments[0]).then(r => r.arrayBuffer()).then(b => {"
        " let s = ''; new Uint8Array(b).forEach(x => s += String.fromCharCode(x)); done(btoa(s));"
        "});",
        link.get_attribute("href"),
    )
    downloaded = np.asarray(Image.open(io.BytesIO(base64.b64decode(encoded))))
    mapped = image_command_map(picture, tiny_models_dir)
    np.testing.assert_array_equal(downloaded, np.asarray(Image.open(mapped)))


def test_video_upload_progress_and_result(server, browser, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "walk.mp4", 64, 48, 5, 25)
    browser.find_element("css selector", '.tab[data-tab="videos"]').click()
    browser.find_element("id", "video-input").send_keys(str(clip))
    link = wait_until(
        lambda: browser.find_elements("css selector", "#video-jobs a.download-video"),
        what="the finished video",
    )[0]
    browser.save_screenshot(str(tmp_path / "videos.png"))
    assert link.get_attribute("download") == "walk_saliency.mp4"
    assert (
        browser.find_element("css selector", "#video-jobs progress").get_attribute("value") == "1"
    )
    assert browser.find_elements("css selector", "#video-jobs video")
    job_id = browser.execute_script("return JSON.parse(localStorage.getItem('saliency-cam-jobs'))")[
        -1
    ]
    browser.refresh()  # the job survives a reload
    wait_until(lambda: browser.find_elements("id", f"job-{job_id}"), what="the job after reload")
    job = server.app.state.jobs.get(job_id)
    frames, _, _ = read_clip(job.output)
    assert len(frames) == 5


def test_denied_camera_says_so(server, tmp_path: Path) -> None:
    driver = open_chromium(None, allow_camera=False)
    try:
        driver.get(server.url + "/")
        message = wait_until(
            lambda: (m := driver.find_element("id", "live-message")).is_displayed() and m.text,
            what="the camera message",
        )
        driver.save_screenshot(str(tmp_path / "denied.png"))
    finally:
        driver.quit()
    assert "denied" in message or "No camera" in message
