"""Uploads stream straight to where the server keeps them (memory for an image, the
job's folder in the server's own temp dir for a video), never through the system temp
dir, and the size limit cuts a body off as soon as it is crossed. Real server on a free
127.0.0.1 port, real files, real sockets."""

from __future__ import annotations

import io
import json
import os
import socket
import tempfile
import time
from collections.abc import Iterator
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
from saliency_cam.realtime.apps.serve.config import MIB  # noqa: E402

BOUNDARY = "saliency-test-boundary"
CHUNK = 64 * 1024


def _config(models_dir: Path, **changes) -> ServeConfig:
    return ServeConfig(quality="very_low", models_dir=models_dir, **changes)


def open_files_under(folder: Path) -> list[str]:
    """Files this process (the test and its in-process server) has open under
    ``folder``; a spooled temp file shows as ``folder/#inode (deleted)``."""
    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith(str(folder) + os.sep):
            found.append(target)
    return found


def multipart_body(
    filename: str, data: bytes, pause_after: int, snapshot: list[list[str]], folder: Path
) -> Iterator[bytes]:
    """A multipart body sent in 64 KiB pieces; after ``pause_after`` bytes of the file
    it waits for the server to catch up and records the files open under ``folder``."""
    yield (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    for start in range(0, len(data), CHUNK):
        if start >= pause_after and not snapshot:
            time.sleep(0.6)  # the server has parsed what was sent so far
            snapshot.append(open_files_under(folder))
        yield data[start : start + CHUNK]
    yield f"\r\n--{BOUNDARY}--\r\n".encode()


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc (Linux)")
def test_large_uploads_never_touch_the_system_temp_dir(
    tiny_models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))  # the server runs in-process
    noise = np.random.default_rng(0).integers(0, 256, (700, 700, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    image = buffer.getvalue()
    rng = np.random.default_rng(1)
    clip = make_clip(
        tmp_path / "noise.mp4",
        320,
        240,
        20,
        picture=lambda i: rng.integers(0, 256, (240, 320, 3), dtype=np.uint8),
    ).read_bytes()
    assert len(image) > 1.3 * MIB and len(clip) > 1.3 * MIB  # past Starlette's 1 MB spool

    headers = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
    config = _config(tiny_models_dir, max_image_bytes=4 * MIB, max_video_bytes=4 * MIB)
    with running_server(config) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        root = server.app.state.jobs.root  # the server's own temp dir (made in system_tmp)
        assert sorted(system_tmp.iterdir()) == [root]

        seen_image: list[list[str]] = []
        reply = http.post(
            "/v1/saliency",
            content=multipart_body("big.png", image, MIB + CHUNK, seen_image, system_tmp),
            headers=headers,
        )
        assert reply.status_code == 200, reply.text
        assert Image.open(io.BytesIO(reply.content)).size == (700, 700)
        assert seen_image == [[]]  # an image is read into memory: no file at all

        seen_video: list[list[str]] = []
        reply = http.post(
            "/v1/videos",
            content=multipart_body("noise.mp4", clip, MIB + CHUNK, seen_video, system_tmp),
            headers=headers,
        )
        assert reply.status_code == 202, reply.text
        job = reply.json()
        # the only file open while it streamed in: the job's own input, in the server's dir
        assert seen_video == [[str(root / job["id"] / "input.mp4")]]
        deadline = time.monotonic() + 120
        while http.get(f"/v1/videos/{job['id']}").json()["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        assert http.get(f"/v1/videos/{job['id']}").json()["state"] == "done"
        assert sorted(system_tmp.iterdir()) == [root]
    assert list(system_tmp.iterdir()) == []  # the server's dir goes at shutdown


def read_response(sock: socket.socket) -> tuple[int, dict]:
    """Status and JSON body of one HTTP/1.1 response (Content-Length framed)."""
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, "connection closed before a response"
        data += piece
    head, body = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    fields = dict(line.split(": ", 1) for line in lines[1:])
    length = int({k.lower(): v for k, v in fields.items()}["content-length"])
    while len(body) < length:
        piece = sock.recv(65536)
        assert piece, "connection closed inside the response"
        body += piece
    return int(lines[0].split()[1]), json.loads(body[:length])


@pytest.mark.parametrize("route", ["/v1/videos", "/v1/saliency"])
def test_over_the_limit_is_refused_before_the_body_ends(tiny_models_dir: Path, route: str) -> None:
    """A chunked upload (no Content-Length) gets 413 once it passes the limit, while the
    client still holds the rest of the body back; nothing stays behind; the server
    keeps serving."""
    limit = 1 * MIB
    config = _config(tiny_models_dir, max_image_bytes=limit, max_video_bytes=limit)
    with running_server(config) as server, httpx.Client(base_url=server.url, timeout=60) as http:
        address = urlsplit(server.url)
        with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
            sock.sendall(
                (
                    f"POST {route} HTTP/1.1\r\nHost: {address.netloc}\r\n"
                    f"Content-Type: multipart/form-data; boundary={BOUNDARY}\r\n"
                    "Transfer-Encoding: chunked\r\n\r\n"
                ).encode()
            )
            preamble = (
                f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                'filename="huge.mp4"\r\n\r\n'
            ).encode()
            pieces = [preamble] + [b"\0" * CHUNK] * (limit // CHUNK + 2)
            for piece in pieces:  # just past the limit; the body never ends
                sock.sendall(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            status, body = read_response(sock)
        assert status == 413
        assert body["error"]["code"] == "too_large"
        assert body["error"]["limit"] == "max_upload_bytes"
        assert list(server.app.state.jobs.root.iterdir()) == []  # no half-kept upload
        assert http.get("/v1/videos").json()["jobs"] == []
        assert http.get("/healthz").json()["status"] == "ok"
        small = io.BytesIO()
        Image.new("RGB", (64, 48), (200, 30, 30)).save(small, "PNG")
        files = {"file": ("small.png", small.getvalue())}
        assert http.post("/v1/saliency", files=files).status_code == 200


def test_bad_bodies_get_422(tiny_models_dir: Path) -> None:
    """Not multipart, no file field, a body cut short: a clear 422 each, nothing kept."""
    with running_server(_config(tiny_models_dir)) as server:
        with httpx.Client(base_url=server.url, timeout=60) as http:
            raw = http.post("/v1/videos", content=b"\0" * 100)
            field = http.post("/v1/videos", data={"note": "no file"}, files={"other": b"x"})
            cut = http.post(
                "/v1/videos",
                content=(
                    f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; '
                    'filename="a.mp4"\r\n\r\nnot all of it'
                ).encode(),
                headers={"content-type": f"multipart/form-data; boundary={BOUNDARY}"},
            )
            wrong_type = http.post("/v1/videos", files={"file": ("notes.txt", b"hello")})
            schema = http.get("/openapi.json").json()
        root = server.app.state.jobs.root
        assert list(root.iterdir()) == []
    for reply, fragment in (
        (raw, "multipart/form-data"),
        (field, "no file in form field 'file'"),
        (cut, "ended before the file did"),
    ):
        assert reply.status_code == 422, reply.text
        assert fragment in reply.json()["error"]["message"]
    assert wrong_type.status_code == 415
    for route in ("/v1/saliency", "/v1/videos"):  # /docs still offers the file field
        body = schema["paths"][route]["post"]["requestBody"]["content"]["multipart/form-data"]
        assert body["schema"]["properties"]["file"]["format"] == "binary"
