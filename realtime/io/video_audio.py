"""Copying the audio track of an input into a video being written, interleaved with the
video frames by time and shifted by the input video stream's start (see
:class:`~saliency_cam.realtime.io.video_sink.VideoSink`'s ``audio_from``)."""

from __future__ import annotations

from pathlib import Path

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.io.video_read import _av


class AudioCopier:
    """Copies the audio packets of one input into an output container, interleaved with
    the video by time (remuxed as is; transcoded to AAC only if the container refuses the
    codec)."""

    def __init__(self, source: Path, output, start_offset_s: float) -> None:
        av = _av()
        self._input = av.open(str(source))
        if not self._input.streams.audio:
            self._input.close()
            raise InputError(f"{source}: has no audio track to copy")
        self._in_stream = self._input.streams.audio[0]
        self._offset = start_offset_s
        codec = self._in_stream.codec_context.name
        self._transcode = codec not in output.supported_codecs
        if self._transcode:
            self._out_stream = output.add_stream("aac", rate=self._in_stream.codec_context.rate)
            self._out_stream.layout = self._in_stream.codec_context.layout
        else:
            self._out_stream = output.add_stream_from_template(self._in_stream)
        self._output = output
        self._packets = self._input.demux(self._in_stream)
        self._pending = None
        self._done = False

    def _next_packet(self):
        while not self._done:
            packet = next(self._packets, None)
            if packet is None:
                self._done = True
                return None
            if packet.dts is None or packet.pts is None:  # demuxer flush packet
                continue
            return packet
        return None

    def _seconds(self, packet) -> float:
        return float(packet.pts * packet.time_base) - self._offset

    def mux_until(self, seconds: float | None) -> None:
        """Write the audio packets that start before ``seconds`` (all when None)."""
        while True:
            packet = self._pending or self._next_packet()
            self._pending = None
            if packet is None:
                break
            if seconds is not None and self._seconds(packet) > seconds:
                self._pending = packet
                break
            self._write(packet)
        if seconds is None and self._transcode:
            for out in self._out_stream.encode(None):
                self._output.mux(out)

    def _write(self, packet) -> None:
        shift = round(self._offset / packet.time_base)
        if packet.pts - shift < 0:  # audio before the first video frame: dropped
            return
        if self._transcode:
            for frame in packet.decode():
                frame.pts = None  # let the encoder number samples from zero
                for out in self._out_stream.encode(frame):
                    self._output.mux(out)
            return
        packet.pts -= shift
        packet.dts -= shift
        packet.stream = self._out_stream
        self._output.mux(packet)

    def close(self) -> None:
        self._input.close()


def video_start(path: Path) -> float:
    """Start time in seconds of the first video stream (audio is shifted by it)."""
    av = _av()
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.start_time is None:
            return 0.0
        return float(stream.start_time * stream.time_base)
