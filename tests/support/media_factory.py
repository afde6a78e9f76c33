"""Generated media for the video and image tests: tiny clips whose frames carry their own
index in the pixels, images of any size/mode with optional EXIF orientation, and broken
files. Written with PyAV and Pillow directly (not with the code under test)."""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np

#: Bits used to write a frame's index into its pixels (clips of up to 1023 frames).
INDEX_BITS = 10


def index_frame(index: int, width: int, height: int) -> np.ndarray:
    """A BGR frame whose ``INDEX_BITS`` vertical bands are dark (0) or bright (1),
    most significant bit on the left, so the index survives lossy coding and resizing;
    a colour ramp in the blue channel makes frames differ otherwise too."""
    bits = [(index >> (INDEX_BITS - 1 - b)) & 1 for b in range(INDEX_BITS)]
    columns = np.minimum(np.arange(width) * INDEX_BITS // width, INDEX_BITS - 1)
    row = np.where(np.asarray(bits)[columns] == 1, 230, 25).astype(np.uint8)
    frame = np.repeat(np.repeat(row[None, :, None], height, axis=0), 3, axis=2)
    frame[..., 0] = (frame[..., 0].astype(np.int32) * 3 // 4 + index % 64).astype(np.uint8)
    return frame


def read_index(frame: np.ndarray) -> int:
    """Inverse of :func:`index_frame` on a decoded (H, W, 3) BGR frame: the centre of each
    band is thresholded on the green channel."""
    height, width = frame.shape[:2]
    index = 0
    for b in range(INDEX_BITS):
        left = b * width // INDEX_BITS
        right = (b + 1) * width // INDEX_BITS
        margin = max(0, (right - left) // 4)
        band = frame[height // 4 : height - height // 4 or height, left + margin : right - margin]
        bit = int(band[..., 1].mean() > 127)
        index = (index << 1) | bit
    return index


def make_clip(
    path: Path,
    width: int,
    height: int,
    frames: int,
    fps: Fraction | int | float = 25,
    *,
    audio: bool = False,
    audio_codec: str = "aac",
    rotation: int = 0,
    picture: Callable[[int], np.ndarray] | None = None,
) -> Path:
    """Write an H.264 clip whose frame ``i`` shows index ``i`` (see :func:`index_frame`;
    ``picture(i)`` draws frames otherwise, e.g. :func:`stamped_frame`).

    ``audio`` adds a 440 Hz sine track as long as the video (``audio_codec`` aac for
    .mp4, pcm_s16le for .mov/.mkv); ``rotation`` stores a display rotation
    (degrees counter-clockwise), as phones do.
    """
    rate = Fraction(fps).limit_denominator(1001)
    stamps = [Fraction(i) / rate for i in range(frames)]
    return _write_clip(
        path,
        width,
        height,
        stamps,
        rate,
        audio,
        audio_codec,
        rotation,
        picture=picture,
        time_base=1 / rate,
    )


def make_vfr_clip(
    path: Path,
    width: int,
    height: int,
    gaps_ms: list[int],
    *,
    audio: bool = False,
) -> Path:
    """Write a variable-frame-rate H.264 clip: frame 0 at 0 ms, frame i+1 ``gaps_ms[i]``
    ms after frame i, frame ``i`` showing index ``i``; ``audio`` adds a sine track lasting
    as long as the video (last frame included)."""
    stamps = [Fraction(int(ms), 1000) for ms in [0, *np.cumsum(gaps_ms).tolist()]]
    rate = Fraction(1000, max(1, int(np.mean(gaps_ms))))
    last = Fraction(gaps_ms[-1] if gaps_ms else 40, 1000)
    return _write_clip(
        path, width, height, stamps, rate, audio, "aac", 0, tail=last, time_base=Fraction(1, 1000)
    )


def _write_clip(
    path: Path,
    width: int,
    height: int,
    stamps: list[Fraction],
    rate: Fraction,
    audio: bool,
    audio_codec: str,
    rotation: int,
    *,
    picture: Callable[[int], np.ndarray] | None = None,
    tail: Fraction | None = None,
    time_base: Fraction,
) -> Path:
    """The one clip writer: frame ``i`` at ``stamps[i]`` seconds in ``time_base`` units,
    plus a sine track as long as the video when ``audio``."""
    import av

    draw = picture or (lambda i: index_frame(i, width, height))
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height = width, height
        video.pix_fmt = "yuv444p" if width % 2 or height % 2 else "yuv420p"
        video.time_base = video.codec_context.time_base = time_base
        video.options = {"crf": "12", "preset": "ultrafast"}
        if rotation:
            video.set_display_rotation(rotation)
        sound = None
        if audio:
            seconds = float(stamps[-1] + (tail if tail is not None else 1 / rate))
            sound = _add_sine(container, audio_codec, seconds)
        for i, stamp in enumerate(stamps):
            frame = av.VideoFrame.from_ndarray(draw(i), format="bgr24")
            frame.pts, frame.time_base = int(round(stamp / time_base)), time_base
            for packet in video.encode(frame):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            for packet in sound.encode(None):
                container.mux(packet)
    return path


def _add_sine(container: object, codec: str, seconds: float) -> object:
    """Add a mono 440 Hz sine audio stream of ``seconds`` to an open output container."""
    import av

    sample_rate = 22050
    sound = container.add_stream(codec, rate=sample_rate)  # type: ignore[attr-defined]
    sound.layout = "mono"
    total = int(round(seconds * sample_rate))
    wave = 0.3 * np.sin(2 * np.pi * 440.0 * np.arange(total) / sample_rate)
    fmt = sound.codec_context.format.name
    for start in range(0, total, 1024):
        chunk = wave[start : start + 1024]
        data = (chunk * 32767).astype(np.int16) if fmt == "s16" else chunk.astype(np.float32)
        frame = av.AudioFrame.from_ndarray(data[None], format=fmt, layout="mono")
        frame.sample_rate, frame.pts = sample_rate, start
        for packet in sound.encode(frame):
            container.mux(packet)  # type: ignore[attr-defined]
    return sound


def frame_times(path: Path) -> list[float]:
    """Presentation time in seconds of every video frame (read with PyAV directly)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        start = stream.start_time or 0
        return [float((f.pts - start) * f.time_base) for f in container.decode(stream)]


def read_clip(path: Path) -> tuple[list[np.ndarray], Fraction, bool]:
    """All frames of ``path`` as stored (no rotation applied), its average frame rate
    and whether it has an audio stream (read with PyAV, independent of the code under
    test)."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = [f.to_ndarray(format="bgr24") for f in container.decode(stream)]
        return frames, Fraction(stream.average_rate), bool(container.streams.audio)


def audio_codec_of(path: Path) -> str | None:
    """Codec name of the first audio stream, or None."""
    import av

    with av.open(str(path)) as container:
        if not container.streams.audio:
            return None
        return container.streams.audio[0].codec_context.name


def audio_seconds(path: Path) -> float:
    """Decoded duration of the first audio stream, in seconds."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return samples / stream.codec_context.rate


def make_image(
    path: Path,
    width: int,
    height: int,
    mode: str = "RGB",
    *,
    orientation: int | None = None,
) -> Path:
    """Write a picture with a bright square in its top-left quarter (so orientation
    can be checked) in Pillow ``mode`` (RGB, L, RGBA, I;16, LA, P); ``orientation`` stores
    an EXIF orientation tag (1–8) without rotating the pixels, as cameras do."""
    from PIL import Image

    yy, xx = np.mgrid[0:height, 0:width]
    gray = (40 + 60 * xx / max(1, width - 1)).astype(np.float64)
    gray[: max(1, height // 4), : max(1, width // 4)] = 250
    if mode == "I;16":
        image = Image.fromarray((gray * 257).astype(np.uint16))
    else:
        rgb = np.stack([gray, gray * 0.8, gray * 0.6], axis=-1).astype(np.uint8)
        image = Image.fromarray(rgb).convert(mode)
    kwargs = {}
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        kwargs["exif"] = exif.tobytes()
    image.save(path, **kwargs)
    return path


def make_broken_files(folder: Path) -> dict[str, Path]:
    """Zero-byte, garbage and truncated files with media extensions."""
    folder.mkdir(parents=True, exist_ok=True)
    empty = folder / "empty.png"
    empty.write_bytes(b"")
    garbage = folder / "garbage.jpg"
    garbage.write_bytes(b"this is not a picture\n" * 50)
    empty_video = folder / "empty.mp4"
    empty_video.write_bytes(b"")
    garbage_video = folder / "garbage.mp4"
    garbage_video.write_bytes(np.random.default_rng(0).bytes(4096))
    return {
        "empty_image": empty,
        "garbage_image": garbage,
        "empty_video": empty_video,
        "garbage_video": garbage_video,
    }


def make_png_bomb(path: Path, width: int = 60_000, height: int = 60_000) -> Path:
    """A PNG of a few dozen bytes whose header claims ``width`` × ``height`` pixels (a
    decompression bomb: 3.6 GP by default, over Pillow's and OpenCV's limits), with a
    valid header checksum so readers believe it."""
    import io
    import struct
    import zlib

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("L", (1, 1)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    header = bytearray(data[16:29])  # IHDR payload, after the signature, length and type
    header[0:8] = struct.pack(">II", width, height)
    data[16:29] = header
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + bytes(header)) & 0xFFFFFFFF)
    path.write_bytes(bytes(data))
    return path
