"""Frame sources: files and folders deliver every frame once, in order; live sources
keep the newest frame; anything unusable is one clear InputError. Real files, a real
HTTP server on 127.0.0.1, no camera."""

from __future__ import annotations

import contextlib
import functools
import shutil
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import cv2
import numpy as np
import pytest
from synthetic_media import read_index, stamp_index, stamped_frames, synthetic_source, write_clip

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.io.images import load_image
from saliency_cam.realtime.io.sources import (
    LiveSource,
    OrderedSource,
    SourceInfo,
    image_paths,
    open_source,
)
from saliency_cam.realtime.pipeline.stages import Pipeline

CLIP_FRAMES = 30


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_clip(tmp_path_factory.mktemp("clip") / "clip.mp4", CLIP_FRAMES, fps=25)


def test_stamp_round_trip() -> None:
    image = np.full((40, 200, 3), 90, np.uint8)
    for index in (0, 1, 2, 255, 256, 4097, 65535):
        stamp_index(image, index)
        assert read_index(image) == index


def test_video_file_every_frame_once_in_order(clip: Path) -> None:
    with open_source(str(clip)) as source:
        assert isinstance(source, OrderedSource) and not source.live
        info = source.info
        assert (info.width, info.height, info.kind) == (320, 240, "video")
        assert info.fps == pytest.approx(25.0)
        frames = list(source)
    assert [read_index(f.image) for f in frames] == list(range(CLIP_FRAMES))
    assert [f.index for f in frames] == list(range(CLIP_FRAMES))
    assert frames[10].stamp == pytest.approx(10 / 25, abs=1e-3)
    assert all(f.skipped == 0 for f in frames)


def test_video_file_through_a_slow_pipeline_drops_nothing(clip: Path) -> None:
    def process(frame):  # type: ignore[no-untyped-def]
        time.sleep(0.004)  # slower than decoding: the reader must wait, never skip
        return read_index(frame.image)

    with open_source(clip) as source:
        pipeline = Pipeline(source, process, queue_size=2)
        seen = [packet.result for packet in pipeline]
    assert seen == list(range(CLIP_FRAMES))
    assert pipeline.stats.dropped == 0 and source.dropped == 0


def test_image_folder_in_natural_order_skipping_unreadable(tmp_path: Path) -> None:
    frames = stamped_frames(12, (64, 160))
    for i, image in enumerate(frames):
        cv2.imwrite(str(tmp_path / f"shot{i}.png"), image)
    (tmp_path / "shot5.png").write_bytes(b"not a png")  # damaged: skipped, listed
    (tmp_path / "notes.txt").write_text("ignored")
    with open_source(tmp_path) as source:
        got = [(f.name, read_index(f.image)) for f in source]
    expected = [(f"shot{i}.png", i) for i in range(12) if i != 5]
    assert got == expected  # shot10 after shot9, not after shot1
    assert source.unreadable == [tmp_path / "shot5.png"]


def test_glob_and_single_image_and_odd_pixel_formats(tmp_path: Path) -> None:
    grey16 = (np.arange(32 * 48, dtype=np.uint16).reshape(32, 48) * 40).astype(np.uint16)
    bgra = np.zeros((20, 30, 4), np.uint8)
    bgra[..., 2] = 200
    bgra[..., 3] = 255
    bgra[0, 0, 3] = 0  # one transparent pixel: composited over the padding grey
    cv2.imwrite(str(tmp_path / "a.png"), grey16)
    cv2.imwrite(str(tmp_path / "b.png"), bgra)
    cv2.imwrite(str(tmp_path / "c.jpg"), np.zeros((8, 8, 3), np.uint8))
    with open_source(str(tmp_path / "*.png")) as source:
        images = {f.name: f.image for f in source}
    assert sorted(images) == ["a.png", "b.png"]
    assert all(im.dtype == np.uint8 and im.ndim == 3 and im.shape[2] == 3 for im in images.values())
    assert images["b.png"][1, 1].tolist() == [0, 0, 200]
    assert images["b.png"][0, 0].tolist() == [126, 126, 126]
    # one loader: a folder source reads every picture exactly as 'saliency-cam image' does
    for name, image in images.items():
        np.testing.assert_array_equal(image, load_image(tmp_path / name))
    with open_source(tmp_path / "c.jpg") as source:
        assert [f.name for f in source] == ["c.jpg"]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no/such/clip.mp4", "no such file, folder or camera"),
        ("nothing-*.png", "no images in pattern"),
        ("", "empty --source"),
        ("synthetic:fast", "bad synthetic rate"),
    ],
)
def test_unusable_specs_are_one_clear_line(spec: str, message: str) -> None:
    with pytest.raises(InputError, match=message):
        open_source(spec)


def test_empty_folder_and_fake_video(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no images in folder"):
        image_paths(tmp_path)
    fake = tmp_path / "fake.mp4"
    fake.write_text("this is not a video")
    with pytest.raises(InputError, match="cannot read video"):
        open_source(fake)


def test_missing_camera_is_one_clear_line() -> None:
    with pytest.raises(InputError, match="cannot open camera 57: no camera there"):
        open_source("57")


def test_unreachable_stream_names_the_url_without_its_password() -> None:
    started = time.perf_counter()
    with pytest.raises(InputError, match="cannot open stream") as caught:
        open_source("rtsp://admin:hunter2@127.0.0.1:9/live")
    assert "hunter2" not in str(caught.value)
    assert "admin:***@127.0.0.1" in str(caught.value)
    assert time.perf_counter() - started < 30  # refused, not hung


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - stdlib name
        pass


@contextlib.contextmanager
def serve_folder(folder: Path) -> Iterator[str]:
    """A plain static HTTP server on 127.0.0.1 (what FFmpeg meets on a simple host)."""
    server = ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(folder))
    )
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_http_video_is_ordered_and_http_stream_is_live(clip: Path, tmp_path: Path) -> None:
    shutil.copy(clip, tmp_path / "clip.mp4")
    shutil.copy(clip, tmp_path / "live")  # no video extension: treated as a live stream
    with serve_folder(tmp_path) as url:
        with open_source(f"{url}/clip.mp4") as source:
            assert not source.live
            assert [read_index(f.image) for f in source] == list(range(CLIP_FRAMES))
        with open_source(f"{url}/live") as stream:
            assert isinstance(stream, LiveSource) and stream.info.kind == "stream"
            indices = []
            while (frame := stream.read(timeout=10)) is not None:
                indices.append(read_index(frame.image))
    # a stream that ends is a normal end; whatever was read is in order
    assert indices and indices == sorted(set(indices))
    assert indices[-1] == CLIP_FRAMES - 1 or stream.dropped > 0


def test_live_source_returns_the_newest_frame_once_and_counts_the_rest() -> None:
    with open_source("synthetic:200") as app_source:  # the user feature: plain pattern
        assert app_source.live and app_source.info.kind == "synthetic"
    with synthetic_source(200) as source:  # the same source, frames stamped for the test
        first = source.read(timeout=2)
        time.sleep(0.1)  # ~20 frames go by unread
        second = source.read(timeout=2)
        assert first is not None and second is not None
        assert second.index > first.index + 5
        assert second.skipped == second.index - first.index - 1
        assert read_index(second.image) == second.index
        assert source.dropped == second.index - first.index - 1 + first.index
        assert second.stamp > first.stamp


def test_live_source_read_times_out_without_losing_the_source() -> None:
    gate: list[int] = []

    def grab() -> np.ndarray | None:
        time.sleep(0.2)
        gate.append(1)
        return np.zeros((4, 4, 3), np.uint8) if len(gate) < 3 else None

    source = LiveSource(grab, SourceInfo("slow", "stream", True), stall_timeout=5)
    with source:
        with pytest.raises(TimeoutError):
            source.read(timeout=0.01)
        assert source.read(timeout=2) is not None
