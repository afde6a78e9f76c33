"""The hostile inputs of ``serve_soak.py``: a plain JPEG, a 49 MP PNG from a small file,
images whose headers claim 60000x60000 (PNG, PAM, Radiance HDR), an 8192x8192 clip, a
1000 fps clip longer than the frame limit, a small clip and random bytes named ``.mp4``.

Run alone, it writes them into a folder, to try one against a server by hand:

    python benchmarks/soak_media.py /tmp/soak-media
    curl -F file=@/tmp/soak-media/bomb.png http://127.0.0.1:8000/v1/saliency
"""

from __future__ import annotations

import argparse
import io
import struct
import zlib
from fractions import Fraction
from pathlib import Path

import numpy as np

ABSURD_PAM = b"P7\nWIDTH 60000\nHEIGHT 60000\nDEPTH 3\nMAXVAL 255\nTUPLTYPE RGB\nENDHDR\n"
ABSURD_HDR = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 60000 +X 60000\n"


def jpeg(width: int, height: int, seed: int = 0) -> bytes:
    """A ``width`` x ``height`` JPEG of seeded noise (an ordinary upload)."""
    from PIL import Image

    pixels = np.random.default_rng(seed).integers(0, 255, (height, width, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
    return buffer.getvalue()


def large_png(size: int) -> bytes:
    """A ``size`` x ``size`` PNG of big flat blocks: small file, full decode."""
    from PIL import Image

    blocks = np.random.default_rng(1).integers(0, 255, (size // 500 + 1, size // 500 + 1, 3))
    picture = np.kron(blocks.astype(np.uint8), np.ones((500, 500, 1), np.uint8))[:size, :size]
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, "PNG")
    return buffer.getvalue()


def claimed_png(width: int, height: int) -> bytes:
    """A small PNG whose header claims ``width`` x ``height``."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("1", (64, 64)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR width and height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # its CRC, redone
    return bytes(data)


def clip(path: Path, width: int, height: int, frames: int, fps: int) -> bytes:
    """An H.264 clip of flat grey frames (PyAV)."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"preset": "ultrafast"}
        for index in range(frames):
            picture = np.full((height, width, 3), (index * 7) % 256, np.uint8)
            frame = av.VideoFrame.from_ndarray(picture, format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path.read_bytes()


def build_media(folder: Path, args: argparse.Namespace) -> dict[str, bytes]:
    """Every input by kind (the clips are also left in ``folder``); the fast clip runs
    200 frames past ``args.max_video_frames``, the junk is ``args.junk_mb`` MiB."""
    rng = np.random.default_rng(2)
    return {
        "jpeg": jpeg(320, 240),
        "large": large_png(7000),
        "bomb_png": claimed_png(60000, 60000),
        "pam": ABSURD_PAM + b"\0" * 4096,
        "hdr": ABSURD_HDR + b"\0" * 4096,
        "big_video": clip(folder / "big.mp4", 8192, 8192, 2, 25),
        "fast_video": clip(folder / "fast.mp4", 64, 64, args.max_video_frames + 200, 1000),
        "video": clip(folder / "small.mp4", 96, 64, 12, 25),
        "junk": rng.integers(0, 256, args.junk_mb * 1024 * 1024, dtype=np.uint8).tobytes(),
    }


#: Where :func:`main` writes the inputs that are not clips (the clips are written as
#: they are made: big.mp4, fast.mp4, small.mp4).
FILE_NAMES = {
    "jpeg": "image.jpg",
    "large": "large.png",
    "bomb_png": "bomb.png",
    "pam": "bomb.pam",
    "hdr": "bomb.hdr",
    "junk": "junk.mp4",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="folder to write the inputs into")
    parser.add_argument("--max-video-frames", type=int, default=1000)
    parser.add_argument("--junk-mb", type=int, default=20)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    media = build_media(args.out, args)
    for key, name in FILE_NAMES.items():
        (args.out / name).write_bytes(media[key])
    print(f"wrote {len(media)} inputs to {args.out}")


if __name__ == "__main__":
    main()
