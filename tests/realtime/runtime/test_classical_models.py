"""The classical models (``--model spectral-residual | fine-grained | centre``): what each
algorithm finds, that they agree with OpenCV contrib's ``cv2.saliency`` where that is
installed, and that every command runs them with no export step (an empty models folder)."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest
from cli_process import run_main
from media_factory import make_clip

from saliency_cam.models.errors import SaliencyCamError
from saliency_cam.realtime.runtime.backends.classical import (
    centre_bias,
    fine_grained,
    spectral_residual,
)
from saliency_cam.realtime.runtime.session import open_session

CLASSICAL = ("spectral-residual", "fine-grained", "centre")


def odd_one_out(height: int = 120, width: int = 160) -> tuple[np.ndarray, tuple[int, int]]:
    """A noisy grey picture (a flat one has exact zeros in its spectrum, where spectral
    residual is ill-conditioned in OpenCV too) with one bright square: where it is."""
    noise = np.random.default_rng(0).normal(0, 12, (height, width, 1))
    picture = np.clip(110 + noise, 0, 255).repeat(3, axis=2).astype(np.uint8)
    y, x = height // 4, (width * 3) // 4
    picture[y - 8 : y + 8, x - 8 : x + 8] = 250
    return picture, (y, x)


@pytest.mark.parametrize("algorithm", [spectral_residual, fine_grained], ids=["sr", "fg"])
def test_the_odd_object_is_the_most_salient(algorithm) -> None:
    picture, (y, x) = odd_one_out()
    saliency = algorithm(picture)
    assert saliency.shape == picture.shape[:2] and saliency.dtype == np.float32
    assert saliency.min() >= 0 and 0.9 < saliency.max() <= 1.0  # peak 1 before resizing
    peak = np.unravel_index(np.argmax(saliency), saliency.shape)
    # on the square or its rim (centre-surround answers at the edges)
    assert abs(int(peak[0]) - y) <= 20 and abs(int(peak[1]) - x) <= 20
    assert saliency[y - 16 : y + 16, x - 16 : x + 16].mean() > 2.5 * saliency.mean()


def test_centre_bias_peaks_in_the_middle_and_is_symmetric() -> None:
    bias = centre_bias(48, 64)
    assert np.unravel_index(np.argmax(bias), bias.shape) in {(23, 31), (23, 32), (24, 31), (24, 32)}
    np.testing.assert_allclose(bias, bias[::-1, ::-1], atol=1e-6)
    assert bias[0, 0] < 0.05


def test_maps_agree_with_opencv_contrib_where_installed() -> None:
    saliency = getattr(cv2, "saliency", None)
    if saliency is None:
        pytest.skip("cv2.saliency (opencv-contrib) is not installed: nothing to compare with")
    picture = cv2.resize(cv2.imread(str(_asset("astronaut.jpg"))), (320, 240))
    for mine, theirs in (
        (spectral_residual, saliency.StaticSaliencySpectralResidual_create()),
        (fine_grained, saliency.StaticSaliencyFineGrained_create()),
    ):
        _, reference = theirs.computeSaliency(picture)
        assert np.corrcoef(reference.ravel(), mine(picture).ravel())[0, 1] > 0.999


def _asset(name: str) -> Path:
    from saliency_cam.models.samples import __file__ as samples

    return Path(samples).parent / "assets" / name


def test_a_classical_model_has_one_precision_and_a_quality_sizes_it(tmp_path: Path) -> None:
    session = open_session("centre@very_low", models_dir=tmp_path, device="cpu")
    assert session.size == (48, 64) and session.trained and session.backend == "opencv"
    assert "MSI-Net" not in session.note and "centre" in session.note
    with pytest.raises(SaliencyCamError, match="no int8 variant"):
        open_session("spectral-residual", "int8", models_dir=tmp_path)
    assert open_session("center", models_dir=tmp_path).variant.preset == "centre"  # spelling


@pytest.mark.parametrize("name", CLASSICAL)
def test_every_file_command_runs_a_classical_model_without_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    models = tmp_path / "empty-models"  # nothing exported: nothing is needed
    picture, _ = odd_one_out(96, 128)
    cv2.imwrite(str(tmp_path / "p.png"), picture)
    clip = make_clip(tmp_path / "clip.mp4", 64, 48, 6)
    common = ["--model", name, "--models-dir", str(models)]
    runs = {
        "image": ["image", str(tmp_path / "p.png"), "-o", str(tmp_path / "img"), "--npy"],
        "video": ["video", str(clip), "-o", str(tmp_path / "vid.mp4")],
        "crop": ["crop", str(tmp_path / "p.png"), "-o", str(tmp_path / "crop"), "--size", "50x50"],
        "reframe": ["reframe", str(clip), "-o", str(tmp_path / "ref.mp4"), "--aspect", "1:1"],
        "live": ["--source", str(clip), "--no-display", "--max-frames", "4", "--stats",
                 str(tmp_path / "stats.json")],
        "quality": ["image", str(tmp_path / "p.png"), "-o", str(tmp_path / "q"), "--npy",
                    "-q", "very_low"],
    }  # fmt: skip
    for command, args in runs.items():
        code = run_main([*args, *common])
        captured = capsys.readouterr()
        assert code == 0, (command, captured.out + captured.err)
    expected = open_session(name, models_dir=models, device="cpu").predict(picture)
    np.testing.assert_allclose(np.load(tmp_path / "img" / "p_saliency.npy"), expected, atol=1e-6)
    assert (tmp_path / "vid.mp4").stat().st_size > 0 and (tmp_path / "ref.mp4").exists()
    assert any((tmp_path / "crop").iterdir()) and (tmp_path / "stats.json").exists()
    assert not (models / "manifest.json").exists()  # nothing was exported


def test_serve_answers_with_a_classical_model(tmp_path: Path) -> None:
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from saliency_cam.realtime.apps.serve.server import free_port

    port = free_port()
    command = [sys.executable, "-m", "saliency_cam.realtime.cli.main", "serve",
               "--no-browser", "--port", str(port), "-q", "centre",
               "--models-dir", str(tmp_path / "m")]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(tmp_path), "SALIENCY_CAM_TOKEN": ""}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            assert process.poll() is None, process.communicate()
            try:
                if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "server did not come up"
            time.sleep(0.2)
        picture, _ = odd_one_out(48, 64)
        _, png = cv2.imencode(".png", picture)
        for model in ("centre", "spectral-residual"):
            reply = httpx.post(
                f"{url}/v1/saliency",
                params={"format": "npy", "quality": model},
                files={"file": ("p.png", png.tobytes(), "image/png")},
                timeout=60,
            )
            assert reply.status_code == 200, reply.text
            got = np.load(io.BytesIO(reply.content))
            want = open_session(model, models_dir=tmp_path / "m", device="cpu").predict(picture)
            np.testing.assert_allclose(got, want, atol=1e-6)
    finally:
        process.terminate()
        process.communicate(timeout=60)


def test_workers_with_backend_auto_run_a_classical_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # the driver resolves auto to the classical model's own backend, which the workers
    # then pass back to the model opener
    clip = make_clip(tmp_path / "clip.mp4", 64, 48, 4)
    code = run_main(["video", str(clip), "-o", f"{tmp_path / 'out'}/", "--model", "centre",
                     "--workers", "2", "--backend", "auto",
                     "--models-dir", str(tmp_path / "m")])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.out + captured.err
    assert (tmp_path / "out" / "clip_saliency.mp4").stat().st_size > 0
