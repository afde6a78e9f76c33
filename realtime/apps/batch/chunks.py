"""Long videos as several tasks: split at keyframes, process the pieces anywhere, join.

Splitting and joining are stream copies (packets remuxed, never re-encoded), so they
lose nothing: a piece starts at a keyframe (an IDR frame: x264's GOPs are closed, so
nothing after it refers to frames before it), and the joined file holds exactly the
pieces' packets, re-timed one after the other, with the source's audio copied in.

>>> pieces = plan_chunks(Path("long.mp4"), min_frames=750)          # doctest: +SKIP
>>> [(p.start, p.stop) for p in pieces]                              # doctest: +SKIP
[(0, 750), (750, 1500), (1500, 1800)]
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from saliency_cam.models.atomic import atomic_output
from saliency_cam.models.errors import InputError, first_line


def _av():
    import av

    return av


@dataclass(frozen=True)
class Chunk:
    """Frames ``[start, stop)`` of ``source`` (presentation order); ``start`` is a keyframe."""

    source: Path
    index: int
    start: int
    stop: int

    @property
    def frames(self) -> int:
        return self.stop - self.start


def keyframes(path: Path) -> tuple[list[int], list[int]]:
    """``(keyframe indices, pts of every frame)`` in presentation order, by demuxing only."""
    av = _av()
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            packets = [
                (p.pts, bool(p.is_keyframe))
                for p in container.demux(stream)
                if p.size and p.pts is not None
            ]
    except (av.error.FFmpegError, OSError, IndexError) as exc:
        raise InputError(f"{path}: cannot read video ({first_line(exc)})") from exc
    packets.sort()
    return [i for i, (_, key) in enumerate(packets) if key], [pts for pts, _ in packets]


def plan_chunks(path: Path, min_frames: int) -> list[Chunk]:
    """Pieces of at least ``min_frames`` frames (the last one may be shorter only when the
    whole file is), each starting at a keyframe. One piece when there is nothing to split."""
    keys, pts = keyframes(path)
    total = len(pts)
    starts = [0]
    for key in keys:
        if key - starts[-1] >= min_frames and total - key >= min_frames:
            starts.append(key)
    bounds = [*starts, total]
    return [
        Chunk(path, i, a, b) for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]


def cut_chunk(chunk: Chunk, dest: Path) -> Path:
    """Write ``chunk``'s video packets (no audio) to ``dest`` by stream copy, re-timed to
    start at zero."""
    av = _av()
    _, pts = keyframes(chunk.source)
    wanted = set(pts[chunk.start : chunk.stop])
    shift = pts[chunk.start]
    with (
        atomic_output(dest) as tmp,
        av.open(str(chunk.source)) as src,
        av.open(str(tmp), "w") as out,
    ):
        stream = src.streams.video[0]
        target = out.add_stream_from_template(stream)
        for packet in src.demux(stream):
            if packet.pts is None or packet.pts not in wanted:
                continue
            packet.pts -= shift
            packet.dts = None if packet.dts is None else packet.dts - shift
            packet.stream = target
            out.mux(packet)
    return dest


def join_chunks(pieces: list[Path], dest: Path, fps: Fraction, audio_from: Path | None) -> Path:
    """Concatenate processed pieces (same codec and size) into ``dest`` by stream copy,
    each re-timed after the previous one (``fps`` frames per second); copy the first
    audio track of ``audio_from`` when given."""
    av = _av()
    with contextlib.ExitStack() as stack:
        inputs = [stack.enter_context(av.open(str(p))) for p in pieces]
        audio_in = None
        if audio_from is not None:
            audio_in = stack.enter_context(av.open(str(audio_from)))
            if not audio_in.streams.audio:
                audio_in = None
        tmp = stack.enter_context(atomic_output(dest))
        out = stack.enter_context(av.open(str(tmp), "w"))
        video = out.add_stream_from_template(inputs[0].streams.video[0])
        audio = None
        if audio_in is not None:
            audio = out.add_stream_from_template(audio_in.streams.audio[0])
        offset = Fraction(0)  # seconds
        for container in inputs:
            stream = container.streams.video[0]
            base = stream.time_base
            shift = int(round(offset / base))
            frames = 0
            for packet in container.demux(stream):
                if packet.dts is None and packet.pts is None:
                    continue  # demuxer flush packet
                packet.pts = None if packet.pts is None else packet.pts + shift
                packet.dts = None if packet.dts is None else packet.dts + shift
                packet.stream = video
                out.mux(packet)
                frames += 1
            offset += Fraction(frames) / fps
        if audio_in is not None and audio is not None:
            source = audio_in.streams.audio[0]
            start = _video_start(audio_in)
            for packet in audio_in.demux(source):
                if packet.pts is None or packet.dts is None:
                    continue
                shift = int(round(start / packet.time_base))
                if packet.pts - shift < 0:  # audio before the first video frame
                    continue
                packet.pts -= shift
                packet.dts -= shift
                packet.stream = audio
                out.mux(packet)
    return dest


def _video_start(container) -> Fraction:
    stream = container.streams.video[0] if container.streams.video else None
    if stream is None or stream.start_time is None:
        return Fraction(0)
    return Fraction(stream.start_time) * stream.time_base


# --------------------------------------------------------------------------- runner


@dataclass
class _Group:
    task: object  # the FileTask of the whole file
    pieces: list  # FileTasks of its pieces
    folder: Path | None
    chunks: list[Chunk]
    fps: Fraction
    plan: object  # the split plan for this kind of task (_JoinedVideo, _TwoPhaseReframe)
    done: dict

    def ordered(self) -> list:
        """The pieces' outcomes in chunk order."""
        return [self.done[p.source] for p in self.pieces]


class _JoinedVideo:
    """``saliency-cam video``: each piece is blended on its own, then the blended pieces
    are joined losslessly (with the source's audio when the task kept audio)."""

    def check(self, task) -> None:
        from saliency_cam.models.errors import SaliencyCamError

        if len(task.outputs) != 1:
            raise SaliencyCamError("--split-seconds writes only the blended video: drop --maps")

    def piece(self, task, chunk: Chunk, piece_in: Path, folder: Path):
        from functools import partial

        from saliency_cam.realtime.apps.batch.runner import FileTask
        from saliency_cam.realtime.apps.video import VideoOutputs

        piece_out = folder / f"out_{chunk.index:04d}.mp4"
        keywords = dict(task.work.keywords)
        work = partial(
            task.work.func,
            **{**keywords, "outputs": VideoOutputs(blend=piece_out), "keep_audio": False},
        )
        return FileTask(piece_in, (piece_out,), work)

    def finish(self, group: _Group):
        from saliency_cam.realtime.apps.batch.runner import TaskOutcome
        from saliency_cam.realtime.apps.video import VideoResult
        from saliency_cam.realtime.io.video import VideoInfo

        source = group.task.source
        output = group.task.outputs[0]
        keep_audio = bool(group.task.work.keywords.get("keep_audio", False))
        try:
            audio = source if keep_audio else None
            join_chunks([p.outputs[0] for p in group.pieces], output, group.fps, audio)
        except Exception as exc:  # a join failure fails this file only
            return TaskOutcome(source, False, error=f"{source}: joining pieces: {first_line(exc)}")
        results = [o.result for o in group.ordered()]
        result = VideoResult(
            source=source,
            info=VideoInfo.from_path(source),
            outputs=[output],
            frames=sum(r.frames for r in results),
            seconds=sum(r.seconds for r in results),
            stats={"pieces": len(results)},
        )
        return TaskOutcome(source, True, result=result, seconds=result.seconds)


class _TwoPhaseReframe:
    """``saliency-cam reframe``: the crop path is per shot and needs the whole video,
    but the model is the expensive part. Phase 1 (one task per piece, in parallel):
    every frame's map at the network's input size
    (:func:`~saliency_cam.realtime.apps.batch.maps.video_maps_task`). Phase 2 (here, once
    all pieces of a file are in): the unchanged reframe job over the whole file, reading
    those maps instead of running the model, so its output is the unsplit one."""

    def check(self, task) -> None:
        return None

    def piece(self, task, chunk: Chunk, piece_in: Path, folder: Path):
        from functools import partial

        from saliency_cam.realtime.apps.batch.maps import video_maps_task
        from saliency_cam.realtime.apps.batch.runner import FileTask

        maps = folder / f"maps_{chunk.index:04d}.npy"
        return FileTask(piece_in, (maps,), partial(video_maps_task, output=maps))

    def finish(self, group: _Group):
        from saliency_cam.realtime.apps.batch.maps import StoredVideoMaps
        from saliency_cam.realtime.apps.batch.runner import TaskOutcome, execute

        task = group.task
        pieces = [(c.start, o.result) for c, o in zip(group.chunks, group.ordered(), strict=True)]
        for chunk, (_, maps) in zip(group.chunks, pieces, strict=True):
            if maps.frames != chunk.frames:
                return TaskOutcome(
                    task.source,
                    False,
                    error=f"{task.source}: piece {chunk.index} decoded {maps.frames} frames, "
                    f"the file's index says {chunk.frames}",
                )
        stored = StoredVideoMaps(task.source, pieces)
        outcome = execute(stored, task)  # the task's own work, with the maps as the model
        if outcome.ok:
            outcome.result.pieces = len(group.pieces)
            outcome.result.seconds += sum(o.seconds for o in group.ordered())
            outcome.seconds = outcome.result.seconds
            outcome.session = group.ordered()[0].session
        return outcome


def _plan_for(task):
    """The split plan for a task's work (None: this work cannot be split)."""
    from saliency_cam.realtime.apps.reframe.job import reframe_task
    from saliency_cam.realtime.apps.video import run_video_job

    func = getattr(task.work, "func", None)
    return {run_video_job: _JoinedVideo(), reframe_task: _TwoPhaseReframe()}.get(func)


class ChunkingRunner:
    """Wraps a runner: each task whose file has keyframes far enough apart becomes one
    task per piece of at least ``min_seconds`` (cut losslessly); when a file's pieces
    are all done its plan finishes it and one outcome is reported for the file:

    * ``saliency-cam video`` (a :func:`functools.partial` of ``run_video_job`` writing
      one blended video): the pieces are blended and joined losslessly under the task's
      output name. Temporal smoothing (``--smooth``) restarts at each piece.
    * ``saliency-cam reframe`` (``reframe_task``): two phases, the pieces' saliency maps
      in parallel, then scene detection, path and crop/encode over the whole file from
      those maps (output identical to the unsplit run).

    Pieces live in a hidden ``.<output stem>.pieces`` folder next to the (first) output
    and are removed afterwards.
    """

    def __init__(self, inner, min_seconds: float) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.min_seconds = min_seconds

    def describe(self) -> str:
        return f"{self.inner.describe()}, videos split at keyframes every ≥ {self.min_seconds:g} s"

    def _split(self, task, plan) -> _Group:
        from saliency_cam.realtime.io.video import VideoInfo

        info = VideoInfo.from_path(task.source)
        chunks = plan_chunks(task.source, max(1, round(self.min_seconds * float(info.fps))))
        if len(chunks) < 2:
            return _Group(task, [task], None, chunks, info.fps, plan, {})
        output = task.outputs[0]
        folder = output.parent / f".{output.stem}.pieces"
        pieces = [
            plan.piece(task, chunk, cut_chunk(chunk, folder / f"in_{chunk.index:04d}.mp4"), folder)
            for chunk in chunks
        ]
        return _Group(task, pieces, folder, chunks, info.fps, plan, {})

    def run(self, tasks, on_done) -> None:
        import shutil

        from saliency_cam.models.errors import SaliencyCamError
        from saliency_cam.realtime.apps.batch.runner import TaskOutcome

        owner: dict[Path, _Group] = {}
        pieces = []
        for task in tasks:
            plan = _plan_for(task)
            if plan is None:
                raise SaliencyCamError("--split-seconds is for video and reframe")
            plan.check(task)
            try:
                group = self._split(task, plan)
            except SaliencyCamError as exc:
                on_done(TaskOutcome(task.source, False, error=str(exc)))
                continue
            for piece in group.pieces:
                owner[piece.source] = group
                pieces.append(piece)

        def piece_done(outcome) -> None:
            group = owner[outcome.source]
            if group.folder is None:  # not split: the file's own outcome
                on_done(outcome)
                return
            group.done[outcome.source] = outcome
            if len(group.done) < len(group.pieces):
                return
            failed = [o for o in group.ordered() if not o.ok]
            source = group.task.source
            try:
                if failed:
                    outcome = TaskOutcome(source, False, error=f"{source}: {failed[0].error}")
                else:
                    outcome = group.plan.finish(group)
            finally:
                shutil.rmtree(group.folder, ignore_errors=True)
            on_done(outcome)

        self.inner.run(pieces, piece_done)
