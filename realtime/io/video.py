"""Reading and writing video files with PyAV (supervision-style small pieces).

>>> info = VideoInfo.from_path("clip.mp4")                      # doctest: +SKIP
>>> with VideoSink("out.mp4", info, audio_from="clip.mp4") as sink:  # doctest: +SKIP
...     for frame in iter_frames("clip.mp4"):
...         sink.write_frame(frame)

Frames are BGR uint8 arrays, upright: a display rotation stored in the file (phone
videos) is applied when reading, so ``VideoInfo.width/height`` are the displayed size.
Writers go through :func:`~saliency_cam.models.atomic.atomic_output`: until the sink
closes cleanly the file has a temporary name, so an interrupted run leaves nothing under
the final name.

The reading half is ``video_read.py`` (:class:`VideoInfo`, :func:`iter_frames`), the
writing half ``video_sink.py`` (:class:`VideoSink`) with the audio copy in
``video_audio.py``; their public names are importable from here, as they always were.
"""

from __future__ import annotations

from saliency_cam.realtime.io.video_read import (
    VideoInfo,
    iter_frames,
    iter_stamped_frames,
    open_video_source,
)
from saliency_cam.realtime.io.video_sink import VIDEO_CODECS, VideoSink, pick_video_codec

# the video module's public names, wherever they are defined (apps, the API and tests
# import them here)
__all__ = [
    "VIDEO_CODECS",
    "VideoInfo",
    "VideoSink",
    "iter_frames",
    "iter_stamped_frames",
    "open_video_source",
    "pick_video_codec",
]
