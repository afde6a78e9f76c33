"""``saliency-cam serve``'s HTTP API and live WebSocket, against a real uvicorn server on
a free 127.0.0.1 port, with real models (``tiny_models_dir``: UNTRAINED), real uploads
and real video files."""

from __future__ import annotations

import asyncio
import io
import json
import re
import struct
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
from cli_process import image_command_map  # noqa: E402
from known_models import register_brightness_model  # noqa: E402
from media_factory import make_broken_files, make_clip, make_image, read_clip  # noqa: E402
from PIL import Image  # noqa: E402

from saliency_cam.realtime.apps.serve import ServeConfig, running_server  # noqa: E402
from saliency_cam.realtime.apps.serve.config import MIB  # noqa: E402

TOKEN = "s3cret-token"


def _config(models_dir: Path, **changes) -> ServeConfig:
    base = dict(
        quality="very_low",
        models_dir=models_dir,
        max_image_bytes=1 * MIB,
        max_video_bytes=4 * MIB,
        max_pixels=4_000_000,
    )
    base.update(changes)
    return ServeConfig(**base)


@pytest.fixture(scope="module")
def server(tiny_models_dir: Path):
    with running_server(_config(tiny_models_dir, max_jobs=2)) as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as http:
        yield http


def _jpeg(width: int = 160, height: int = 120, seed: int = 0) -> bytes:
    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


def _metric(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    series = f"{name}{{{wanted}}}" if labels else name
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def _wait_job(client, job_id: str, states=("done", "failed", "cancelled"), timeout=120.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = client.get(f"/v1/videos/{job_id}").json()
        if job["state"] in states:
            return job
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {job['state']}")


# --------------------------------------------------------------------------- images


def test_png_map_equals_saliency_cam_image(client, tiny_models_dir: Path, tmp_path: Path) -> None:
    picture = make_image(tmp_path / "photo.png", 203, 117)
    reply = client.post("/v1/saliency", files={"file": ("photo.png", picture.read_bytes())})
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"] == "image/png"
    assert reply.headers["x-saliency-trained"] == "false"
    assert "UNTRAINED" in reply.headers["x-saliency-model"]

    mapped = image_command_map(picture, tiny_models_dir)
    expected = np.asarray(Image.open(mapped))
    served = np.asarray(Image.open(io.BytesIO(reply.content)))
    assert served.shape == (117, 203)
    np.testing.assert_array_equal(served, expected)


def test_other_formats_agree_with_the_map(client) -> None:
    data = _jpeg(96, 64)
    files = {"file": ("a.jpg", data)}
    png8 = np.asarray(Image.open(io.BytesIO(client.post("/v1/saliency", files=files).content)))
    raw = np.load(io.BytesIO(client.post("/v1/saliency?format=npy", files=files).content))
    assert raw.dtype == np.float32 and raw.shape == (64, 96)
    assert np.abs(np.round(raw * 255) - png8).max() <= 1
    png16 = Image.open(io.BytesIO(client.post("/v1/saliency?format=png16", files=files).content))
    assert png16.mode.startswith("I") and np.abs(np.asarray(png16) / 65535.0 - raw).max() < 1e-4

    found = client.post("/v1/saliency?format=json&points=3", files=files).json()
    assert (found["width"], found["height"], found["trained"]) == (96, 64, False)
    points = found["fixations"]
    assert 1 <= len(points) <= 3
    assert [p["value"] for p in points] == sorted((p["value"] for p in points), reverse=True)
    top = np.unravel_index(np.argmax(raw), raw.shape)
    assert points[0]["value"] == pytest.approx(float(raw.max()), abs=1e-5)
    assert raw[points[0]["y"], points[0]["x"]] == pytest.approx(float(raw[top]), abs=1e-5)

    side = Image.open(io.BytesIO(client.post("/v1/saliency?format=side", files=files).content))
    assert side.size == (192, 64) and side.mode == "RGB"


@pytest.mark.parametrize(
    ("files", "params", "status", "code"),
    [
        ({"file": ("junk.jpg", b"this is not a picture\n" * 40)}, {}, 422, "bad_input"),
        ({"file": ("empty.png", b"")}, {}, 422, "bad_input"),
        ({"picture": ("a.jpg", _jpeg())}, {}, 422, "bad_request"),  # wrong field name
        ({"file": ("a.jpg", _jpeg())}, {"quality": "ultra"}, 422, "bad_request"),
        ({"file": ("a.jpg", _jpeg())}, {"format": "gif"}, 422, "bad_request"),
        ({"file": ("a.jpg", _jpeg())}, {"colormap": "rainbowz"}, 422, "bad_request"),
        ({"file": ("a.jpg", _jpeg())}, {"alpha": "2"}, 422, "bad_request"),
        ({"file": ("big.bin", b"\0" * (MIB + 10))}, {}, 413, "too_large"),
    ],
    ids=["garbage", "empty", "wrong-field", "quality", "format", "colormap", "alpha", "too-large"],
)
def test_bad_requests_get_4xx_json_and_the_server_keeps_serving(
    client, files, params, status, code
) -> None:
    reply = client.post("/v1/saliency", files=files, params=params)
    assert reply.status_code == status, reply.text
    error = reply.json()["error"]
    assert error["code"] == code and error["message"]
    assert client.post("/v1/saliency", files={"file": ("ok.jpg", _jpeg())}).status_code == 200


def test_decompression_bomb_is_refused_from_its_header(client) -> None:
    buffer = io.BytesIO()
    Image.new("L", (3000, 2000)).save(buffer, "PNG")  # 6 MP in a few KB
    assert len(buffer.getvalue()) < MIB
    reply = client.post("/v1/saliency", files={"file": ("bomb.png", buffer.getvalue())})
    assert reply.status_code == 422
    assert reply.json()["error"]["limit"] == "max_pixels"


def test_chunked_upload_over_the_limit_is_cut_off(client) -> None:
    def body():
        yield b'--xx\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n\r\n'
        for _ in range(40):
            yield b"\0" * 65536  # 2.5 MiB without a Content-Length

    headers = {"content-type": "multipart/form-data; boundary=xx"}
    reply = client.post("/v1/saliency", content=body(), headers=headers)
    assert reply.status_code == 413
    assert reply.json()["error"]["limit"] == "max_upload_bytes"


def test_models_health_metrics_docs_and_page(client) -> None:
    models = client.get("/v1/models").json()
    by_name = {m["name"]: m for m in models["models"]}
    assert models["default"] == "very_low"
    assert by_name["very_low"]["untrained"] and by_name["very_low"]["available"]
    assert not by_name["very_high"]["available"] and not by_name["very_high"]["untrained"]
    health = client.get("/healthz").json()
    assert health["status"] == "ok" and "very_low" in health["loaded"]
    metrics = client.get("/metrics")
    assert metrics.headers["content-type"].startswith("text/plain")
    assert "# TYPE saliency_requests_total counter" in metrics.text
    assert _metric(metrics.text, "saliency_model_loads_total", model="very_low") == 1
    assert _metric(metrics.text, "saliency_requests_total", route="/v1/saliency", status="200") >= 1
    assert "swagger-ui" in client.get("/docs").text
    assert "/docs-assets/" in client.get("/docs").text  # offline copy, no CDN
    assert client.get("/docs-assets/swagger-ui-bundle.js").status_code == 200
    assert "/v1/saliency" in client.get("/openapi.json").json()["paths"]
    page = client.get("/")
    assert page.status_code == 200 and "app.js" in page.text
    remote = re.compile(
        r"""(src|href)=["']?(https?:)?//|url\(["']?(https?:)?//|fetch\(["'`]https?:"""
    )
    for asset in ("", "app.js", "style.css"):
        assert not remote.search(client.get(f"/{asset}").text)  # no CDN: works offline


def test_user_models_are_listed_and_served(tmp_path: Path) -> None:
    """A model registered in the server's models folder (like ``saliency-cam train``
    does) is in the models list and answers by name; its map is the known one."""
    register_brightness_model(tmp_path, "brightness", (48, 64))
    picture = np.full((120, 160, 3), 20, np.uint8)
    picture[20:50, 100:140] = 250  # a bright patch: where a brightness map peaks
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    config = _config(tmp_path, quality="brightness")
    with running_server(config) as running, httpx.Client(base_url=running.url, timeout=60) as http:
        models = http.get("/v1/models").json()
        entry = {m["name"]: m for m in models["models"]}["brightness"]
        reply = http.post(
            "/v1/saliency?quality=brightness",
            files={"file": ("patch.png", buffer.getvalue())},
        )
        unknown = http.post(
            "/v1/saliency?quality=nobody", files={"file": ("patch.png", buffer.getvalue())}
        )
    assert models["default"] == "brightness"
    assert entry["kind"] == "user" and entry["available"] and not entry["untrained"]
    assert reply.status_code == 200 and reply.headers["x-saliency-trained"] == "true"
    saliency = np.asarray(Image.open(io.BytesIO(reply.content)), dtype=np.float32) / 255
    assert saliency.shape == (120, 160)
    assert saliency[25:45, 105:135].min() > 0.8 and saliency[80:, :80].max() < 0.2
    assert unknown.status_code in (404, 422) and "brightness" in unknown.text


# --------------------------------------------------------------------------- batching


def _concurrent_posts(url: str, count: int) -> list[int]:
    data = _jpeg(80, 60)

    def post(_: int) -> int:
        with httpx.Client(timeout=60) as http:
            return http.post(f"{url}/v1/saliency", files={"file": ("a.jpg", data)}).status_code

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, range(count)))


@pytest.mark.parametrize("max_batch", [1, 8])
def test_batching_combines_concurrent_requests(tiny_models_dir: Path, max_batch: int) -> None:
    # a long collection window makes the grouping independent of machine speed
    config = _config(tiny_models_dir, max_batch=max_batch, batch_wait_ms=400.0)
    with running_server(config) as running:
        engine = running.app.state.engine
        engine.session("very_low")
        assert _concurrent_posts(running.url, 8) == [200] * 8
        text = httpx.get(f"{running.url}/metrics").text
    runs = _metric(text, "saliency_batch_runs_total", model="very_low")
    items = _metric(text, "saliency_batch_items_total", model="very_low")
    assert items == 8
    if max_batch == 1:
        assert runs == 8
    else:
        assert runs < 8  # several requests shared one infer_batch call
        assert _metric(text, "saliency_batch_size_count", model="very_low") == runs


def test_full_queue_answers_503_with_retry_after(tiny_models_dir: Path) -> None:
    config = _config(tiny_models_dir, max_batch=1, max_queue=1, batch_wait_ms=0.0)
    with running_server(config) as running:
        statuses = _concurrent_posts(running.url, 12)
        assert 503 in statuses and 200 in statuses
        assert set(statuses) <= {200, 503}
        reply = httpx.post(f"{running.url}/v1/saliency", files={"file": ("a.jpg", _jpeg())})
        assert reply.status_code == 200


# --------------------------------------------------------------------------- videos


def test_video_job_upload_progress_download(client, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 64, 48, 6, 25, audio=True)
    reply = client.post(
        "/v1/videos", files={"file": ("clip.mp4", clip.read_bytes())}, params={"view": "side"}
    )
    assert reply.status_code == 202, reply.text
    job = reply.json()
    assert reply.headers["location"] == f"/v1/videos/{job['id']}"
    assert job["total_frames"] == 6 and len(job["id"]) >= 16
    done = _wait_job(client, job["id"])
    assert done["state"] == "done", done
    assert (done["frames_done"], done["progress"], done["trained"]) == (6, 1.0, False)
    assert job["id"] in [j["id"] for j in client.get("/v1/videos").json()["jobs"]]

    video = client.get(done["download"])
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"
    assert 'filename="clip_saliency.mp4"' in video.headers["content-disposition"]
    out = tmp_path / "out.mp4"
    out.write_bytes(video.content)
    frames, _, has_audio = read_clip(out)
    assert len(frames) == 6 and frames[0].shape == (48, 128, 3) and has_audio


def test_video_job_cancel_and_queue_limit(client, server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "long.mp4", 320, 240, 150, 25)
    first = client.post("/v1/videos", files={"file": ("long.mp4", clip.read_bytes())}).json()
    second = client.post("/v1/videos", files={"file": ("long.mp4", clip.read_bytes())}).json()
    full = client.post("/v1/videos", files={"file": ("long.mp4", clip.read_bytes())})
    assert full.status_code == 503 and full.headers["retry-after"]
    assert full.json()["error"]["limit"] == "max_jobs"

    for job in (second, first):
        assert client.delete(f"/v1/videos/{job['id']}").status_code == 200
    for job in (first, second):
        final = _wait_job(client, job["id"])
        assert final["state"] == "cancelled" and final["download"] is None
        assert client.get(f"/v1/videos/{job['id']}/download").status_code == 409
        folder = server.app.state.jobs.get(job["id"]).folder
        assert not any(p.suffix == ".mp4" for p in folder.iterdir())  # no partial output
    again = client.post("/v1/videos", files={"file": ("clip.mp4", clip.read_bytes())})
    assert again.status_code == 202  # capacity is back
    client.delete(f"/v1/videos/{again.json()['id']}")
    _wait_job(client, again.json()["id"])


def test_bad_videos_get_4xx(client, tmp_path: Path) -> None:
    broken = make_broken_files(tmp_path)
    for name in ("garbage_video", "empty_video"):
        path = broken[name]
        reply = client.post("/v1/videos", files={"file": (path.name, path.read_bytes())})
        assert reply.status_code == 422, reply.text
        assert str(tmp_path) not in reply.text and "saliency-cam-serve" not in reply.text
    reply = client.post("/v1/videos", files={"file": ("notes.txt", b"hello")})
    assert reply.status_code == 415
    assert client.get("/v1/videos/not-a-job").status_code == 404


def test_finished_jobs_expire_and_their_files_go(client, server, tmp_path: Path) -> None:
    clip = make_clip(tmp_path / "clip.mp4", 64, 48, 3, 25)
    job = client.post("/v1/videos", files={"file": ("clip.mp4", clip.read_bytes())}).json()
    assert _wait_job(client, job["id"])["state"] == "done"
    jobs = server.app.state.jobs
    folder = jobs.get(job["id"]).folder
    assert folder.exists()
    assert job["id"] in jobs.expire(now=time.time() + 10 * jobs.ttl_s)
    assert not folder.exists()
    reply = client.get(f"/v1/videos/{job['id']}")
    assert reply.status_code == 410 and reply.json()["error"]["code"] == "expired"


# --------------------------------------------------------------------------- token


def test_token_guards_every_api_route(tiny_models_dir: Path) -> None:
    with running_server(_config(tiny_models_dir, token=TOKEN)) as running:
        with httpx.Client(base_url=running.url, timeout=60) as http:
            for path in ("/metrics", "/v1/models", "/v1/videos"):  # /healthz: a probe's
                assert http.get(path).status_code == 401
                assert http.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
                good = http.get(path, headers={"Authorization": f"Bearer {TOKEN}"})
                assert good.status_code == 200
            refused = http.post("/v1/saliency", files={"file": ("a.jpg", _jpeg())})
            assert refused.status_code == 401 and refused.headers["www-authenticate"] == "Bearer"
            assert refused.json()["error"]["code"] == "unauthorized"
            assert http.get("/").status_code == 200  # the page shell holds no data
        assert asyncio.run(_live_refused(running.url))
        assert asyncio.run(_live_round_trip(running.url, token=TOKEN))["quality"] == "very_low"


def test_public_address_needs_a_token() -> None:
    from saliency_cam.models.errors import SaliencyCamError

    with pytest.raises(SaliencyCamError, match="--token"):
        ServeConfig(host="0.0.0.0").check_exposure()
    ServeConfig(host="0.0.0.0", token="t" * 16).check_exposure()
    ServeConfig(host="::1").check_exposure()


# --------------------------------------------------------------------------- live


async def _live_refused(url: str) -> bool:
    import websockets

    async with websockets.connect(url.replace("http", "ws") + "/v1/live") as ws:
        await ws.send(json.dumps({"type": "auth", "token": "wrong"}))
        try:
            while True:
                await asyncio.wait_for(ws.recv(), 10)
        except websockets.ConnectionClosed as closed:
            return closed.rcvd is not None and closed.rcvd.code == 1008


async def _next_map(ws) -> dict:
    while True:
        message = await asyncio.wait_for(ws.recv(), 60)
        if isinstance(message, bytes):
            size = struct.unpack("<I", message[:4])[0]
            header = json.loads(message[4 : 4 + size])
            assert len(message) == 4 + size + header["width"] * header["height"]
            return header


async def _live_round_trip(url: str, token: str | None = None, switch: str | None = None):
    import websockets

    async with websockets.connect(url.replace("http", "ws") + "/v1/live") as ws:
        if token:
            await ws.send(json.dumps({"type": "auth", "token": token}))
        frame = _jpeg(160, 120)
        await ws.send(struct.pack("<I", 1) + frame)
        header = await _next_map(ws)
        assert (header["seq"], header["width"], header["height"]) == (1, 160, 120)
        if switch:
            await ws.send(json.dumps({"type": "quality", "quality": switch}))
            while True:  # status messages until the switch is done
                message = await asyncio.wait_for(ws.recv(), 60)
                if isinstance(message, str):
                    status = json.loads(message)
                    if status.get("quality") == switch and not status.get("loading"):
                        break
            await ws.send(struct.pack("<I", 2) + frame)
            header = await _next_map(ws)
        return header


def test_live_socket_round_trip_and_quality_switch(server) -> None:
    pytest.importorskip("websockets")
    before = server.app.state.metrics.value("saliency_live_connections_total")
    header = asyncio.run(_live_round_trip(server.url, switch="low"))
    assert header["quality"] == "low" and header["trained"] is False
    metrics = server.app.state.metrics
    # one connection carried both models
    assert metrics.value("saliency_live_connections_total") == before + 1
    assert metrics.value("saliency_live_frames_total", model="low") >= 1


def test_live_keeps_only_the_newest_frame(server) -> None:
    pytest.importorskip("websockets")
    import websockets

    async def burst() -> list[int]:
        async with websockets.connect(server.url.replace("http", "ws") + "/v1/live") as ws:
            frame = _jpeg(320, 240)
            for seq in range(1, 31):  # far faster than the model answers
                await ws.send(struct.pack("<I", seq) + frame)
            answered = []
            while not answered or answered[-1] != 30:
                answered.append((await _next_map(ws))["seq"])
            return answered

    answered = asyncio.run(burst())
    assert answered == sorted(answered) and answered[-1] == 30
    assert len(answered) < 30  # stale frames were replaced, not queued


def _rss_mib() -> float:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS"))


def test_bounded_load_no_errors_no_leaks(server) -> None:
    _concurrent_posts(server.url, 8)  # warm: threads and buffers exist before measuring
    before = _rss_mib()
    for _ in range(10):  # 80 requests from 8 clients; stops by itself, loopback only
        assert _concurrent_posts(server.url, 8) == [200] * 8
    assert _rss_mib() - before < 100  # no per-request growth (about 8 MB per 100 frames)
    jobs = server.app.state.jobs
    leftovers = [
        p
        for p in jobs.root.rglob("*")
        if not any(j.folder in p.parents or j.folder == p for j in jobs.list())
    ]
    assert leftovers == []  # image requests leave no files behind
