"""run_jobs, the one runner of the file commands: counts, a failing job among good ones,
outputs that appear only whole, and finished files skipped on a workers rerun. Real
pictures, a real (classical, file-less) model session, the real image job."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import pytest
from media_factory import make_broken_files, make_image

from saliency_cam.models.atomic import atomic_output
from saliency_cam.realtime.apps.batch.runner import FileTask, SessionOptions
from saliency_cam.realtime.apps.image import ImageStyle, plan_image_jobs, process_image
from saliency_cam.realtime.apps.jobs import JobsSummary, ModelRequest, Reporter, Scale, run_jobs
from saliency_cam.realtime.apps.media_jobs import image_task, run_image_jobs
from saliency_cam.realtime.runtime.session import open_session

#: A classical model: computed in code, opens in well under a second, no export needed.
MODEL = "centre@very_low"


def _session():
    return open_session(MODEL, "fp32", "cpu", backend="onnxruntime", threads=1)


def _photos(folder: Path, count: int) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    return [make_image(folder / f"p{i}.png", 48 + 8 * i, 40) for i in range(count)]


class Seen(Reporter):
    """Records what run_jobs reports, in order."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def opened(self, runner) -> None:
        self.events.append("opened")

    def begin(self, source: Path) -> dict:
        self.events.append(f"begin {source.name}")
        return {}

    def done(self, outcome) -> None:
        state = "skipped" if outcome.skipped else ("ok" if outcome.ok else "failed")
        self.events.append(f"{state} {outcome.source.name}")


def test_counts_and_a_bad_file_does_not_stop_the_others(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    good = _photos(inputs, 3)
    broken = make_broken_files(tmp_path / "broken")["garbage_image"]
    missing = str(tmp_path / "nowhere.png")
    plan = plan_image_jobs([str(inputs), str(broken), missing], tmp_path / "out")
    seen = Seen()

    summary = run_jobs(
        plan, image_task(ImageStyle()), kind="image", open_session=_session, reporter=seen
    )

    assert isinstance(summary, JobsSummary)
    assert [r.source for r in summary.results] == sorted(good)  # the plan's order
    assert [name for name, _ in summary.failed] == [str(broken)]
    assert broken.name in summary.failed[0][1]  # the reason names the file
    assert [name for name, _ in summary.problems] == [missing]
    assert (summary.failures, summary.total, summary.skipped) == (2, 5, [])
    assert seen.events[0] == "opened"
    assert f"failed {broken.name}" in seen.events and "ok p2.png" in seen.events
    # the bad picture left nothing behind, the good ones everything
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(p.name for p in summary.outputs)
    assert written == ["p0_saliency.png", "p1_saliency.png", "p2_saliency.png"]


def _half_then_fail(session, source: Path, *, output: Path) -> None:
    """A job that dies half way through writing its output."""
    with atomic_output(output) as tmp:
        tmp.write_bytes(b"half a picture")
        raise RuntimeError("disk full")


def test_a_job_failing_mid_write_leaves_neither_output_nor_temporary(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    photos = _photos(inputs, 2)
    out = tmp_path / "out"
    out.mkdir()
    before = out / "p0_saliency.png"
    before.write_bytes(b"the previous run's result")
    plan = plan_image_jobs([str(inputs)], out)

    def make(source: Path, outputs, note: str) -> FileTask:
        if source == photos[0]:  # the first dies mid-write, the second is a real job
            work = partial(_half_then_fail, output=outputs.saliency)
        else:
            work = partial(process_image, outputs=outputs, note=note)
        return FileTask(source, tuple(outputs.paths()), work)

    summary = run_jobs(plan, make, kind="image", open_session=_session)

    assert "disk full" in summary.failed[0][1] and len(summary.results) == 1
    assert before.read_bytes() == b"the previous run's result"  # untouched, not half
    assert sorted(p.name for p in out.iterdir()) == ["p0_saliency.png", "p1_saliency.png"]


def test_interrupt_carries_the_summary_so_far(tmp_path: Path) -> None:
    inputs = tmp_path / "in"
    photos = _photos(inputs, 3)
    plan = plan_image_jobs([str(inputs)], tmp_path / "out")

    def stop_at_second(session, source: Path, *, outputs, note: str = ""):
        if source == photos[1]:
            raise KeyboardInterrupt
        return process_image(session, source, outputs, note=note)

    def make(source: Path, outputs, note: str) -> FileTask:
        return FileTask(source, tuple(outputs.paths()), partial(stop_at_second, outputs=outputs))

    with pytest.raises(KeyboardInterrupt) as caught:
        run_jobs(plan, make, kind="image", open_session=_session)
    summary = caught.value.summary  # type: ignore[attr-defined]
    assert [r.source for r in summary.results] == [photos[0]]
    assert summary.interrupted == photos[1]


def test_workers_rerun_skips_what_is_done(tmp_path: Path) -> None:
    """On workers, each finished file is recorded; a rerun skips it while its outputs
    exist, and runs it again once one is gone."""
    inputs = tmp_path / "in"
    _photos(inputs, 2)
    out = tmp_path / "out"
    model = ModelRequest(MODEL, "fp32", None, SessionOptions("cpu", 1, "onnxruntime"))
    run = partial(run_image_jobs, style=ImageStyle(), scale=Scale(workers=1), model=model)

    first = run(plan_image_jobs([str(inputs)], out))
    assert (len(first.results), first.skipped, first.failed) == (2, [], [])
    stamps = {p: p.stat().st_mtime_ns for p in first.outputs}

    (out / "p1_saliency.png").unlink()
    second = run(plan_image_jobs([str(inputs)], out))
    assert second.skipped == [inputs / "p0.png"]
    assert [r.source for r in second.results] == [inputs / "p1.png"]
    assert (out / "p0_saliency.png").stat().st_mtime_ns == stamps[out / "p0_saliency.png"]
    assert (out / "p1_saliency.png").is_file()
