"""What a hostile but realistic client does to ``saliency-cam serve``, against a real
uvicorn server on a free 127.0.0.1 port with real models (``tiny_models_dir``), real
images, real video files and real sockets: memory and disk stay bounded, every limit
answers with a JSON error naming it, other web sites are kept out, and the server keeps
serving."""

from __future__ import annotations

import asyncio
import io
import json
import re
import socket
import struct
import threading
import time
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
httpx = pytest.importorskip("httpx")
from media_factory import make_clip  # noqa: E402
from PIL import Image  # noqa: E402

from saliency_cam.realtime.apps.serve import ServeConfig, running_server  # noqa: E402
from saliency_cam.realtime.apps.serve.budget import PixelBudget  # noqa: E402
from saliency_cam.realtime.apps.serve.config import MIB  # noqa: E402
from saliency_cam.realtime.apps.serve.errors import ApiError  # noqa: E402

TOKEN = "a-long-enough-test-token"
BOUNDARY = "hardening-boundary"


def _config(models_dir: Path, **changes) -> ServeConfig:
    base = dict(
        quality="very_low",
        models_dir=models_dir,
        max_image_bytes=2 * MIB,
        max_video_bytes=4 * MIB,
        max_pixels=4_000_000,
    )
    base.update(changes)
    return ServeConfig(**base)


def _png(width: int, height: int, seed: int = 0) -> bytes:
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 255, (height // 50 + 1, width // 50 + 1, 3), dtype=np.uint8)
    picture = np.kron(small, np.ones((50, 50, 1), np.uint8))[:height, :width]
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    return buffer.getvalue()


def _jpeg(width: int = 96, height: int = 64) -> bytes:
    pixels = np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG")
    return buffer.getvalue()


#: Headers claiming 60000x60000 pictures in formats Pillow cannot size (OpenCV can).
ABSURD_PAM = b"P7\nWIDTH 60000\nHEIGHT 60000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n" + (
    b"\0" * 4096
)
ABSURD_HDR = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 60000 +X 60000\n" + b"\0" * 4096


def _claimed_png(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` (a few KB: a decompression bomb
    as far as the header goes)."""
    buffer = io.BytesIO()
    Image.new("1", (min(width, 4000), min(height, 4000))).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # its CRC, redone
    return bytes(data)


def _raw_request(url: str, head: str, body: bytes = b"") -> tuple[int, dict[str, str], dict]:
    """Send ``head`` (request line + headers, without the blank line) and ``body`` on a
    fresh socket; returns the status, headers and JSON body of the answer."""
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
        sock.sendall(head.encode("latin-1") + b"\r\n\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            piece = sock.recv(65536)
            assert piece, "connection closed before an answer"
            data += piece
        top, rest = data.split(b"\r\n\r\n", 1)
        lines = top.decode("latin-1").split("\r\n")
        headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
        length = int(headers.get("content-length", "0"))
        while len(rest) < length:
            piece = sock.recv(65536)
            assert piece, "connection closed inside the answer"
            rest += piece
    return int(lines[0].split()[1]), headers, json.loads(rest[:length] or b"{}")


# --------------------------------------------------------------------------- 1. memory


def test_pixel_budget_queues_in_order_then_refuses() -> None:
    """The budget itself: a request that does not fit waits; freed pixels go to the
    first waiter; one still waiting after ``wait_s`` gets 503 + Retry-After."""

    async def scenario() -> list[str]:
        budget = PixelBudget(100, wait_s=0.2)
        events: list[str] = []
        first = budget.hold(80)
        await first.__aenter__()

        async def later(name: str, pixels: int) -> None:
            try:
                async with budget.hold(pixels):
                    events.append(f"{name} in")
                    await asyncio.sleep(0)
            except ApiError as exc:
                events.append(f"{name} {exc.status} {exc.headers['Retry-After']}")

        waiting = asyncio.create_task(later("big", 60))
        await asyncio.sleep(0.05)
        assert budget.held == 80 and events == []  # queued, not refused, not let in
        await first.__aexit__(None, None, None)
        await waiting
        assert budget.held == 0 and budget.peak == 80
        async with budget.hold(100):  # the whole budget: the next one cannot fit
            await later("late", 1)
        return events

    assert asyncio.run(scenario()) == ["big in", "late 503 1"]


def _post_many(url: str, data: bytes, count: int) -> list[httpx.Response]:
    barrier = threading.Barrier(count)

    def post(_: int) -> httpx.Response:
        with httpx.Client(timeout=120) as http:
            barrier.wait()
            return http.post(f"{url}/v1/saliency", files={"file": ("big.png", data)})

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(post, range(count)))


def test_parallel_large_images_stay_within_the_pixel_budget(tiny_models_dir: Path) -> None:
    """Parallel 700x700 PNGs (small files, 0.49 MP decoded each) against a budget of one
    such image (the issue's 24 x 7000x7000, scaled down): they are worked on one at a
    time (the held pixels never exceed the budget); with no time to wait, the others
    get 503 + Retry-After; the server stays up and answers the next request."""
    data = _png(700, 700)
    assert len(data) < 50_000
    limits = dict(max_pixels=490_000, max_pixels_in_flight=490_000)
    with running_server(_config(tiny_models_dir, **limits, budget_wait_s=120.0)) as server:
        replies = _post_many(server.url, data, 3)
        assert [r.status_code for r in replies] == [200] * 3  # queued, all served
        assert server.app.state.budget.peak == 490_000  # one image at a time
        server.app.state.budget.wait_s = 0.0  # as budget_wait_s=0: no time to wait
        replies = _post_many(server.url, data, 6)
        statuses = [r.status_code for r in replies]
        assert set(statuses) == {200, 503}, statuses
        refused = next(r for r in replies if r.status_code == 503)
        assert refused.headers["retry-after"]
        assert refused.json()["error"]["limit"] == "max_pixels_in_flight"
        assert server.app.state.budget.peak <= 490_000
        assert server.app.state.budget.held == 0
        assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
        assert httpx.post(f"{server.url}/v1/saliency", files={"file": ("a.png", data)}).is_success


def test_images_of_different_shapes_in_one_batch_are_all_served(tiny_models_dir: Path) -> None:
    """Found by the soak benchmark: a large and a small image arriving together landed
    in one batch, whose inputs (each at its own aspect) could not be stacked: 500 for
    both. Each shape now runs on its own."""
    wide, tall = _png(200, 100), _png(100, 200)
    config = _config(tiny_models_dir, batch_wait_ms=400.0)  # they surely meet
    with running_server(config) as server:
        barrier = threading.Barrier(4)

        def post(data: bytes) -> httpx.Response:
            with httpx.Client(timeout=120) as http:
                barrier.wait()
                return http.post(f"{server.url}/v1/saliency", files={"file": ("a.png", data)})

        with ThreadPoolExecutor(4) as pool:
            replies = list(pool.map(post, [wide, tall, wide, tall]))
        batcher = next(iter(server.app.state.engine._batchers.values()))
    assert [r.status_code for r in replies] == [200] * 4, [r.text for r in replies]
    sizes = [Image.open(io.BytesIO(r.content)).size for r in replies]
    assert sizes == [(200, 100), (100, 200), (200, 100), (100, 200)]
    assert batcher.stats.items == 4 and batcher.stats.largest == 2  # grouped by shape


def test_default_budget_fits_at_least_one_image_at_the_limit() -> None:
    config = ServeConfig()
    assert config.pixels_in_flight >= config.max_pixels
    with pytest.raises(Exception, match="at least --max-megapixels"):
        ServeConfig(max_pixels=100, max_pixels_in_flight=99)


# --------------------------------------------------------------------------- 2, 3. videos


@pytest.fixture(scope="module")
def video_server(tiny_models_dir: Path):
    config = _config(
        tiny_models_dir,
        max_pixels=200_000,
        max_video_frames=100,
        max_video_pixel_frames=100_000,
        max_jobs=2,
    )
    with running_server(config) as running:
        yield running


@pytest.mark.parametrize(
    ("size", "frames", "fps", "limit"),
    [
        ((640, 360), 2, 25, "max_pixels"),  # 230,400 pixels a frame
        ((64, 64), 120, 1000, "max_video_frames"),  # 0.12 s, but 120 frames
        ((64, 64), 30, 25, "max_video_pixel_frames"),  # 122,880 pixels x frames
    ],
    ids=["frame-pixels", "frames", "pixel-frames"],
)
def test_video_limits_are_checked_at_probe_time(
    video_server, tmp_path: Path, size: tuple[int, int], frames: int, fps: int, limit: str
) -> None:
    clip = make_clip(tmp_path / "clip.mp4", *size, frames, fps)
    with httpx.Client(base_url=video_server.url, timeout=60) as http:
        reply = http.post("/v1/videos", files={"file": ("clip.mp4", clip.read_bytes())})
        assert reply.status_code == 422, reply.text
        error = reply.json()["error"]
        assert error["limit"] == limit and "limit" in error["message"]
        assert "clip.mp4" in error["message"]
        assert http.get("/v1/videos").json()["jobs"] == []
    assert list(video_server.app.state.jobs.root.iterdir()) == []  # deleted at once


# --------------------------------------------------------------------------- 4. disk


def _start_upload(url: str, length: int) -> socket.socket:
    """An upload that declares ``length`` bytes and sends only its first part: it holds
    its slot (the server waits for the rest)."""
    address = urlsplit(url)
    sock = socket.create_connection((address.hostname, address.port), timeout=30)
    preamble = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="slow.mp4"\r\n\r\n'
    ).encode()
    sock.sendall(
        (
            f"POST /v1/videos HTTP/1.1\r\nHost: {address.netloc}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {length}\r\n\r\n"
        ).encode()
        + preamble
        + b"\0" * 1000
    )
    return sock


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.05)


def test_uploads_beyond_the_job_slots_are_refused_before_spooling(video_server) -> None:
    """max_jobs is 2: two uploads in progress take both slots, so a third is answered
    503 before a byte of its body is read (it sends none) and nothing of it reaches
    the disk; when an upload goes away its folder goes with it and the slot is free."""
    root = video_server.app.state.jobs.root
    slow = [_start_upload(video_server.url, 3 * MIB) for _ in range(2)]
    try:
        _wait_for(lambda: len(list(root.iterdir())) == 2)
        address = urlsplit(video_server.url).netloc
        status, headers, body = _raw_request(
            video_server.url,
            f"POST /v1/videos HTTP/1.1\r\nHost: {address}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {3 * MIB}",
        )
        assert status == 503 and headers["retry-after"]
        assert body["error"]["limit"] == "max_jobs"
        assert len(list(root.iterdir())) == 2
    finally:
        for sock in slow:
            sock.close()
    _wait_for(lambda: list(root.iterdir()) == [])  # the abandoned uploads are deleted


def test_uploads_that_could_fill_the_temp_folder_are_refused(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    config = _config(tiny_models_dir, max_disk_bytes=1 * MIB)
    clip = make_clip(tmp_path / "clip.mp4", 64, 48, 3, 25).read_bytes()
    with running_server(config) as server:
        address = urlsplit(server.url).netloc
        status, headers, body = _raw_request(
            server.url,
            f"POST /v1/videos HTTP/1.1\r\nHost: {address}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {2 * MIB}",
        )
        assert status == 503 and headers["retry-after"]
        assert body["error"]["limit"] == "max_disk_bytes"
        assert list(server.app.state.jobs.root.iterdir()) == []
        small = httpx.post(f"{server.url}/v1/videos", files={"file": ("clip.mp4", clip)})
        assert small.status_code == 202, small.text  # what fits is still taken


# --------------------------------------------------------------------------- 5. live


def test_a_bad_live_frame_is_answered_and_the_connection_keeps_serving(
    tiny_models_dir: Path,
) -> None:
    pytest.importorskip("websockets")
    import websockets

    async def session(url: str) -> list[dict]:
        seen: list[dict] = []
        async with websockets.connect(url.replace("http", "ws") + "/v1/live") as ws:
            bad = [ABSURD_PAM, ABSURD_HDR, _claimed_png(60000, 60000), b"junk" * 10]
            for seq, frame in enumerate([*bad, _jpeg()], start=1):
                await ws.send(struct.pack("<I", seq) + frame)
                while True:  # one answer per frame (sent one at a time: none dropped)
                    message = await asyncio.wait_for(ws.recv(), 60)
                    if isinstance(message, bytes):
                        size = struct.unpack("<I", message[:4])[0]
                        seen.append(json.loads(message[4 : 4 + size]))
                        break
                    answer = json.loads(message)
                    if answer["type"] == "error":
                        seen.append(answer)
                        break
        return seen

    with running_server(_config(tiny_models_dir)) as server:
        answers = asyncio.run(session(server.url))
    assert [a.get("seq") for a in answers] == [1, 2, 3, 4, 5]
    assert all(a["type"] == "error" and a["message"] for a in answers[:4])
    assert "4,000,000" in answers[2]["message"]  # the pixel limit, named
    assert (answers[4]["width"], answers[4]["height"]) == (96, 64)  # still serving


# --------------------------------------------------------------------------- 6. Host/Origin


@pytest.fixture(scope="module")
def open_server(tiny_models_dir: Path):
    with running_server(_config(tiny_models_dir)) as running:
        yield running


def test_foreign_host_names_are_refused(open_server) -> None:
    """DNS rebinding: a page on attacker.example whose name now points at 127.0.0.1
    sends ``Host: attacker.example``: answered 400 on every route."""
    port = urlsplit(open_server.url).port
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        for path in ("/v1/models", "/v1/videos", "/healthz", "/"):
            reply = http.get(path, headers={"Host": f"attacker.example:{port}"})
            assert reply.status_code == 400, path
            assert reply.json()["error"]["code"] == "bad_host"
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert http.get("/v1/models", headers={"Host": host}).status_code == 200, host


def test_foreign_origins_cannot_change_anything(open_server) -> None:
    """Another site's page may not submit work: 403 for a POST/DELETE carrying its
    Origin (also ``null``); the server's own page (same origin) and clients without an
    Origin (curl) are served; a GET carrying a foreign Origin is answered (without CORS
    headers the page cannot read it)."""
    files = {"file": ("a.jpg", _jpeg())}
    own = open_server.url
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        for origin in ("https://evil.example", "http://attacker.example:8000", "null"):
            reply = http.post("/v1/saliency", files=files, headers={"Origin": origin})
            assert reply.status_code == 403, origin
            assert reply.json()["error"]["code"] == "bad_origin"
            assert http.delete("/v1/videos/x", headers={"Origin": origin}).status_code == 403
        assert http.post("/v1/saliency", files=files, headers={"Origin": own}).status_code == 200
        assert http.post("/v1/saliency", files=files).status_code == 200
        reply = http.get("/v1/models", headers={"Origin": "https://evil.example"})
        assert reply.status_code == 200 and "access-control-allow-origin" not in reply.headers


def test_live_socket_from_a_foreign_origin_is_refused(open_server) -> None:
    pytest.importorskip("websockets")
    import websockets

    url = open_server.url.replace("http", "ws") + "/v1/live"

    async def connect(origin: str) -> str:
        try:
            async with websockets.connect(url, origin=origin) as ws:
                await ws.send(struct.pack("<I", 1) + _jpeg())
                while isinstance(message := await asyncio.wait_for(ws.recv(), 60), str):
                    pass
                return "served" if message else "empty"
        except websockets.InvalidStatus as refused:
            return str(refused.response.status_code)

    assert asyncio.run(connect("https://evil.example")) == "403"
    assert asyncio.run(connect(open_server.url)) == "served"


def test_allowed_host_adds_a_name(tiny_models_dir: Path) -> None:
    config = _config(tiny_models_dir, allowed_hosts=("saliency.lan",))
    with running_server(config) as server, httpx.Client(base_url=server.url) as http:
        assert http.get("/v1/models", headers={"Host": "saliency.lan:80"}).status_code == 200
        assert http.get("/v1/models", headers={"Host": "other.lan"}).status_code == 400
        headers = {"Origin": "http://saliency.lan"}
        files = {"file": ("a.jpg", _jpeg())}
        assert http.post("/v1/saliency", files=files, headers=headers).status_code == 200
    assert ServeConfig(host="0.0.0.0", token=TOKEN).host_names is None  # any, token guards
    assert ServeConfig(allowed_hosts=("*",)).host_names is None
    assert "192.168.1.5" in ServeConfig(host="192.168.1.5", token=TOKEN).host_names


# --------------------------------------------------------------------------- 7. formats, paths


@pytest.mark.parametrize(
    "data", [ABSURD_PAM, ABSURD_HDR, _claimed_png(60000, 60000)], ids=["pam", "hdr", "png"]
)
def test_absurd_image_headers_get_422(open_server, data: bytes) -> None:
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        reply = http.post("/v1/saliency", files={"file": ("odd.img", data)})
        assert reply.status_code == 422, reply.text
        assert reply.json()["error"]["code"] in ("bad_input", "too_many_pixels")
        assert http.post("/v1/saliency", files={"file": ("a.jpg", _jpeg())}).status_code == 200


def test_missing_model_answer_shows_no_server_paths(open_server, tiny_models_dir: Path) -> None:
    files = {"file": ("a.jpg", _jpeg())}
    with httpx.Client(base_url=open_server.url, timeout=60) as http:
        reply = http.post("/v1/saliency?quality=medium", files=files)  # not exported
    assert reply.status_code == 404, reply.text
    message = reply.json()["error"]["message"]
    assert "medium" in message and "saliency-cam export" in message
    assert str(tiny_models_dir) not in reply.text and not re.search(r"/(tmp|home|root)/", message)


# --------------------------------------------------------------------------- token (22: 13, 15)


def _filled(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


def test_token_guards_every_route_in_the_schema_but_health(tiny_models_dir: Path) -> None:
    """Every route and method the OpenAPI schema lists answers 401 without the token
    (and with a wrong one); the live socket is closed with 1008; ``/healthz`` answers
    a probe without the token and then says only that the server is up."""
    pytest.importorskip("websockets")
    from test_serve_api import _live_refused

    with running_server(_config(tiny_models_dir, token=TOKEN)) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            schema = http.get("/openapi.json").json()
            routes = [
                (method.upper(), path)
                for path, methods in schema["paths"].items()
                for method in methods
            ]
            assert len(routes) >= 9  # images, colormaps, videos (5), models, metrics, health
            for method, path in routes:
                if path == "/healthz":
                    continue
                for headers in ({}, {"Authorization": "Bearer wrong-token-of-length"}):
                    reply = http.request(method, _filled(path), headers=headers)
                    assert reply.status_code == 401, (method, path, reply.status_code)
                    assert reply.json()["error"]["code"] == "unauthorized"
            anonymous = http.get("/healthz")
            assert anonymous.status_code == 200 and anonymous.json() == {"status": "ok"}
            full = http.get("/healthz", headers={"Authorization": f"Bearer {TOKEN}"}).json()
            assert full["loaded"] == [] and full["version"]
        assert asyncio.run(_live_refused(server.url))


# --------------------------------------------------------------------------- defaults (22: 14, 16)


def test_default_limits_refuse_oversized_raw_requests(tiny_models_dir: Path) -> None:
    """The shipped limits (not the tests' small ones): a Content-Length over 32 MiB is
    413 before the body is sent; a PNG whose header says 8000x7000 (56 MP, over 50 MP)
    is 422 naming the limit; one just under the pixel limit is not refused for size."""
    defaults = ServeConfig()
    assert defaults.max_image_bytes == 32 * MIB and defaults.max_pixels == 50_000_000
    config = ServeConfig(quality="very_low", models_dir=tiny_models_dir)
    with running_server(config) as server:
        address = urlsplit(server.url).netloc
        status, _, body = _raw_request(
            server.url,
            f"POST /v1/saliency HTTP/1.1\r\nHost: {address}\r\n"
            f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
            f"Content-Length: {defaults.max_image_bytes + 1}",
        )
        assert status == 413 and body["error"]["max_bytes"] == defaults.max_image_bytes
        with httpx.Client(base_url=server.url, timeout=60) as http:
            over = http.post("/v1/saliency", files={"file": ("b.png", _claimed_png(8000, 7000))})
            assert over.status_code == 422
            assert over.json()["error"]["limit"] == "max_pixels"
            assert over.json()["error"]["max_pixels"] == 50_000_000
            under = http.post("/v1/saliency", files={"file": ("c.png", _claimed_png(7000, 7000))})
            assert under.status_code == 422 and under.json()["error"]["code"] == "bad_input"


def test_default_host_is_loopback_and_public_hosts_need_a_long_token() -> None:
    from saliency_cam.models.errors import SaliencyCamError

    assert ServeConfig().host == "127.0.0.1" and ServeConfig().loopback
    ServeConfig().check_exposure()
    for host in ("0.0.0.0", "::", "192.168.1.5", "example.org"):
        with pytest.raises(SaliencyCamError, match="--token"):
            ServeConfig(host=host).check_exposure()
        with pytest.raises(SaliencyCamError, match="at least 16 characters"):
            ServeConfig(host=host, token="short-token").check_exposure()
        ServeConfig(host=host, token=TOKEN).check_exposure()
    ServeConfig(host="127.0.0.1", token="short").check_exposure()  # loopback: any token
