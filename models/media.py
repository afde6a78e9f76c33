"""Which file suffixes are images and videos: one list for every reader and command."""

from __future__ import annotations

#: Still images any command reads (Pillow first, OpenCV for the rest).
IMAGE_SUFFIXES: frozenset[str] = frozenset(
    {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".jp2"}
)
#: Videos a source or a ``video`` job reads (FFmpeg through PyAV/OpenCV).
VIDEO_SUFFIXES: frozenset[str] = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".ts"}
    | {".gif", ".3gp", ".ogv"}
)
#: Containers saliency-cam writes videos into.
VIDEO_OUTPUT_SUFFIXES: tuple[str, ...] = (".mp4", ".mov", ".mkv", ".avi", ".webm")


def is_image(name: str) -> bool:
    """True when ``name`` ends in an image suffix (any case)."""
    return any(name.lower().endswith(s) for s in IMAGE_SUFFIXES)
