"""Clips with one salient moving object, for the reframing tests and benchmark: a bright
disc on a dim textured background moves left to right, holds still, and after a hard
cut (new background colour) sits somewhere else. Written with PyAV directly (not with
the code under test); :func:`subject_saliency` is the oracle map (where the disc is)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np


def subject_track(frames: int, width: int, cut: int | None) -> list[tuple[float, bool]]:
    """Per frame ``(disc centre x, after_cut)``: first half of the pre-cut part moves from
    15 % to 85 % of the width, then holds; after the cut the disc sits at 20 %."""
    cut = frames if cut is None else cut
    move = max(1, cut // 2)
    out = []
    for i in range(frames):
        if i >= cut:
            out.append((0.2 * width, True))
        elif i < move:
            out.append(((0.15 + 0.7 * i / max(1, move - 1)) * width, False))
        else:
            out.append((0.85 * width, False))
    return out


def subject_frame(
    x: float, after_cut: bool, width: int, height: int, rng: np.random.Generator
) -> np.ndarray:
    """One BGR frame: textured background (blue-ish before the cut, orange after) and a
    white disc of radius height/8 centred at ``x`` (mid-height)."""
    base = np.array([40, 90, 160] if after_cut else [150, 60, 30], np.float64)
    yy, xx = np.mgrid[0:height, 0:width]
    texture = 20 * np.sin(xx / 7.0) * np.cos(yy / 5.0)
    frame = base[None, None, :] + texture[..., None] + rng.normal(0, 3, (height, width, 1))
    radius = height / 8.0
    disc = (xx - x) ** 2 + (yy - height / 2.0) ** 2 <= radius**2
    frame[disc] = 250
    return np.clip(frame, 0, 255).astype(np.uint8)


def subject_saliency(frame: np.ndarray) -> np.ndarray:
    """Oracle saliency of a :func:`subject_frame`: bright (near-white) pixels, blurred,
    in [0, 1] at the frame's size (what a trained model gives on such a picture)."""
    import cv2

    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    mask = (gray > 220).astype(np.float32)
    sigma = max(1.0, frame.shape[0] / 30.0)
    blurred = cv2.GaussianBlur(mask, (0, 0), sigma)
    top = float(blurred.max())
    return blurred / top if top > 0 else blurred


def make_subject_clip(
    path: Path,
    width: int = 160,
    height: int = 90,
    frames: int = 60,
    fps: int = 25,
    *,
    cut: int | None = 40,
    audio: bool = False,
    seed: int = 0,
    gop: int | None = None,
) -> Path:
    """Write the clip (H.264 .mp4; ``audio`` adds an AAC 440 Hz tone as long as the video;
    ``gop`` puts a keyframe every that many frames)."""
    import av

    rng = np.random.default_rng(seed)
    rate = Fraction(fps)
    with av.open(str(path), "w") as container:
        video = container.add_stream("libx264", rate=rate)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"crf": "18", "preset": "ultrafast"}
        if gop:
            video.options = {**video.options, "g": str(gop), "keyint_min": str(gop)}
        sound = None
        if audio:
            sample_rate = 22050
            sound = container.add_stream("aac", rate=sample_rate)
            sound.layout = "mono"
            total = int(round(frames / fps * sample_rate))
            wave = (0.3 * np.sin(2 * np.pi * 440.0 * np.arange(total) / sample_rate)).astype(
                np.float32
            )
            fmt = sound.codec_context.format.name
            for start in range(0, total, 1024):
                chunk = wave[start : start + 1024]
                data = (chunk * 32767).astype(np.int16) if fmt == "s16" else chunk
                frame = av.AudioFrame.from_ndarray(data[None], format=fmt, layout="mono")
                frame.sample_rate, frame.pts = sample_rate, start
                for packet in sound.encode(frame):
                    container.mux(packet)
        for i, (x, after) in enumerate(subject_track(frames, width, cut)):
            picture = av.VideoFrame.from_ndarray(
                subject_frame(x, after, width, height, rng), format="bgr24"
            )
            picture.pts = i
            for packet in video.encode(picture):
                container.mux(packet)
        for packet in video.encode(None):
            container.mux(packet)
        if sound is not None:
            for packet in sound.encode(None):
                container.mux(packet)
    return path
