"""Every door gives the same model and the same map with no options: the Python API
(open_session, predict, evaluate), the command line (image), the parallel runner
(image --workers) and the server, on one picture, with the suite's pins on precision
and backend removed so the shared defaults (quality medium, precision auto, backend
auto: runtime/defaults.py) decide. A door that kept its own default (fp32, or
onnxruntime, or another quality) resolves another file or backend and fails here."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import run_main

from saliency_cam.models.manifest import Manifest
from saliency_cam.realtime.runtime.defaults import (
    BACKEND_ENV,
    DEFAULT_QUALITY,
    PRECISION_ENV,
    default_backend,
    default_precision,
)


@pytest.fixture()
def unpinned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No precision/backend pins, models only in a folder the environment names."""
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    return tmp_path


@pytest.fixture()
def default_models(default_quality_models_dir: Path) -> Path:
    return default_quality_models_dir


def test_defaults_are_auto_unless_the_environment_says_otherwise() -> None:
    assert DEFAULT_QUALITY == "medium"
    assert default_precision({}) == "auto" and default_backend({}) == "auto"
    assert default_precision({PRECISION_ENV: "int8"}) == "int8"
    assert default_backend({BACKEND_ENV: "openvino"}) == "openvino"


def test_every_door_resolves_the_same_model_and_map(
    default_models: Path, unpinned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import saliency_cam
    from saliency_cam.realtime.apps.serve import ServeConfig, running_server

    monkeypatch.setenv("SALIENCY_CAM_MODELS_DIR", str(default_models))
    picture = unpinned / "scene.png"
    rng = np.random.default_rng(3)
    image = cv2.GaussianBlur(rng.integers(0, 255, (90, 140, 3), np.uint8), (9, 9), 3)
    cv2.imwrite(str(picture), image)

    # the API: a session, a one-shot predict, and evaluate's record of its model
    session = saliency_cam.open_session(device="cpu")
    resolved = session.resolved
    assert resolved.preset == DEFAULT_QUALITY
    # auto chose among the exported precisions (not the old fixed fp32 by default)
    variants = Manifest.load(default_models).variants.values()
    exported = {info.precision for info in variants if info.preset == DEFAULT_QUALITY}
    assert resolved.precision in exported and resolved.backend in ("onnxruntime", "openvino")
    reference = session.predict(image)
    assert np.array_equal(saliency_cam.predict(str(picture), device="cpu"), reference)

    # the command line, serially and through the parallel runner
    def image_command(extra: list[str], folder: str) -> tuple[np.ndarray, str]:
        out = unpinned / folder
        code = run_main(["image", str(picture), "--npy", "-o", str(out), "--no-progress", *extra])
        assert code == 0
        (written,) = out.glob("*.npy")
        return np.load(written), written.name

    serial, _ = image_command(["--device", "cpu"], "serial")
    workers, _ = image_command(["--device", "cpu", "--workers", "1"], "workers")
    np.testing.assert_array_equal(serial, reference)
    np.testing.assert_array_equal(workers, reference)

    # the server, with its config's defaults
    with running_server(ServeConfig(models_dir=default_models, device="cpu")) as server:
        request = urllib.request.Request(
            f"{server.url}/v1/saliency?format=npy",
            data=picture.read_bytes(),
            headers={"Content-Type": "image/png"},
            method="POST",
        )
        try:
            answer = urllib.request.urlopen(request, timeout=60)
        except urllib.error.HTTPError as exc:  # a multipart-only route: send a form instead
            assert exc.code in (400, 415, 422), exc.read()
            answer = _post_form(server.url, picture)
        served = np.load(__import__("io").BytesIO(answer.read()))
        headers = answer.headers
    assert headers["X-Saliency-Sha256"] == resolved.sha256
    assert headers["X-Saliency-Precision"] == resolved.precision
    assert headers["X-Saliency-Backend"] == resolved.backend
    np.testing.assert_array_equal(served, reference)


def _post_form(url: str, picture: Path):
    boundary = "saliencycamboundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            f'filename="{picture.name}"\r\nContent-Type: image/png\r\n\r\n'
        ).encode()
        + picture.read_bytes()
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        f"{url}/v1/saliency?format=npy",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
        method="POST",
    )
    return urllib.request.urlopen(request, timeout=60)


def test_evaluate_from_python_scores_the_default_model(
    default_models: Path, unpinned: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import saliency_cam

    monkeypatch.setenv("SALIENCY_CAM_MODELS_DIR", str(default_models))
    stimuli, truth = unpinned / "stimuli", unpinned / "maps"
    stimuli.mkdir()
    truth.mkdir()
    rng = np.random.default_rng(5)
    for index in range(2):
        cv2.imwrite(str(stimuli / f"s{index}.png"), rng.integers(0, 255, (60, 80, 3), np.uint8))
        blob = np.zeros((60, 80), np.uint8)
        cv2.circle(blob, (20 + 30 * index, 30), 9, 255, -1)
        cv2.imwrite(str(truth / f"s{index}.png"), cv2.GaussianBlur(blob, (0, 0), 5))
    report = saliency_cam.evaluate(stimuli, maps=truth, device="cpu", metrics=["cc"])
    expected = saliency_cam.open_session(device="cpu").resolved
    assert report.model is not None
    assert report.model["sha256"] == expected.sha256
    assert report.model["backend"] == expected.backend
    assert len(report.scored) == 2
    assert json.dumps(report.model)  # JSON-ready for the reports
