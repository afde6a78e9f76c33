"""The live summary's figures cannot contradict each other: the network-alone rate comes
from the same frames as FPS (the cold first inference left out), and file sources report
per-frame processing time instead of a latency inflated by the read-ahead queue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from media_factory import make_image

from saliency_cam.models.errors import InputError
from saliency_cam.realtime.apps.live import FIGURES, LiveOptions, run_live, summary_table
from saliency_cam.realtime.io.images import load_image
from saliency_cam.realtime.pipeline.stats import RunStats


def test_network_rate_leaves_out_the_cold_start_like_fps_does() -> None:
    stats = RunStats()
    for i in range(6):  # shown every 100 ms; the first inference took a cold second
        infer = 1.0 if i == 0 else 0.09
        stats.record(0.0, 10.0 + 0.1 * i, {"infer": infer, "wait": 5.0, "render": 0.005})
    assert stats.fps == pytest.approx(10.0)
    assert stats.stages["infer"].rate_after_first() == pytest.approx(1 / 0.09)
    assert stats.stages["infer"].count / stats.stages["infer"].total < stats.fps  # the old bug
    work = stats.summary()["processing_ms"]
    assert work["count"] == 6 and work["p50"] == pytest.approx(95.0)  # waits left out


def test_folder_run_reports_processing_time_and_consistent_rates(
    tiny_models_dir: Path, tmp_path: Path
) -> None:
    from rich.console import Console

    photos = tmp_path / "imgs"
    photos.mkdir()
    for i in range(8):
        make_image(photos / f"{i}.png", 96, 72)
    bad = photos / "9.png"
    bad.write_bytes(b"not a picture")
    stats_path = tmp_path / "s.json"
    options = LiveOptions(
        source=str(photos),
        quality="very_low",
        models_dir=tiny_models_dir,
        display=False,
        stats=stats_path,
    )
    said: list[str] = []
    result = run_live(options, say=said.append)
    # the unreadable file is reported in the same words as 'saliency-cam image' uses
    with pytest.raises(InputError) as caught:
        load_image(bad)
    assert f"error: {caught.value}" in said
    assert any("skipped 1 unreadable image(s): 9.png" in note for note in result.notes)
    console = Console(record=True, width=200)
    console.print(summary_table(result))
    text = console.export_text()
    assert "per frame" in text and "queue waits left out" in text
    assert "capture → shown" not in text  # no queue-inflated latency for files
    assert "same frames" in text
    saved = json.loads(stats_path.read_text())
    assert saved["figures"] == FIGURES and saved["processing_ms"]["count"] == 8
    assert saved["processing_ms"]["p50"] <= saved["latency_ms"]["p50"]
