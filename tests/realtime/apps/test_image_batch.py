"""``saliency-cam image --batch``: pictures of one network input size share an inference,
the maps are byte for byte those of one at a time, a bad file among them is still
reported on its own, and the decoded pictures waiting for a batch stay bounded."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from saliency_cam.realtime.apps.image import ImageOutputs, process_images
from saliency_cam.realtime.cli.main import main
from saliency_cam.realtime.runtime.session import SaliencySession, open_session

#: (width, height): two 4:3 sizes (one network input), two 16:9, one portrait 9:16.
SIZES = [(160, 120), (96, 170), (320, 180), (64, 48), (192, 108)]


@pytest.fixture(scope="module")
def session(tiny_models_dir: Path) -> SaliencySession:
    return open_session("very_low", models_dir=tiny_models_dir, device="cpu")


def _pictures(folder: Path, corrupt_at: int | None = None) -> list[Path]:
    """Textured pictures of :data:`SIZES` (different content each), with an unreadable
    file inserted at ``corrupt_at``."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(7)
    paths = []
    for index, (width, height) in enumerate(SIZES):
        coarse = rng.integers(0, 256, (max(2, height // 8), max(2, width // 8), 3), np.uint8)
        picture = Image.fromarray(coarse).resize((width, height), Image.BICUBIC)
        path = folder / f"p{index}.png"
        picture.save(path)
        paths.append(path)
    if corrupt_at is not None:
        bad = folder / "broken.jpg"
        bad.write_bytes(b"\xff\xd8 not really a jpeg" * 20)
        paths.insert(corrupt_at, bad)
    return paths


def _plan(paths: list[Path], out: Path) -> list[tuple[Path, ImageOutputs]]:
    return [(p, ImageOutputs.beside(out / p.stem, npy=True)) for p in paths]


def _recording_runs(session: SaliencySession, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Record how many pictures each real inference run takes."""
    runs: list[int] = []
    real = session.infer_batch

    def counted(stack: np.ndarray) -> np.ndarray:
        runs.append(len(stack))
        return real(stack)

    monkeypatch.setattr(session, "infer_batch", counted)
    return runs


def test_batches_match_one_at_a_time_byte_for_byte(
    tmp_path: Path, session: SaliencySession, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert session.dynamic and session.batchable  # else there is nothing to group
    paths = _pictures(tmp_path / "in", corrupt_at=2)
    single = process_images(session, _plan(paths, tmp_path / "one"))
    runs = _recording_runs(session, monkeypatch)
    done: list[str] = []
    batched = process_images(
        session,
        _plan(paths, tmp_path / "three"),
        batch=3,
        on_done=lambda source, result, error: done.append(source.name),
    )
    # the corrupt file in the middle: reported, counted, and the others all written
    for report in (single, batched):
        assert [name for name, _ in report.failures] == [str(paths[2])]
        assert "broken.jpg" in report.failures[0][1]
        assert [r.source for r in report.results] == [p for p in paths if p.name != "broken.jpg"]
    assert sorted(done) == sorted(p.name for p in paths)
    # pictures of one aspect shared a run: 4:3 (p0, p3), 16:9 (p2, p4), 9:16 (p1)
    assert sorted(runs) == [1, 2, 2]
    for result in single.results:
        name = f"{result.source.stem}_saliency"
        one = (tmp_path / "one" / f"{name}.png").read_bytes()
        assert one == (tmp_path / "three" / f"{name}.png").read_bytes()
        maps = [np.load(tmp_path / d / f"{name}.npy") for d in ("one", "three")]
        assert maps[0].shape == (result.height, result.width)
        assert np.array_equal(maps[0], maps[1])
    assert not (tmp_path / "three" / "broken_saliency.png").exists()


def test_memory_limit_runs_what_is_held(
    tmp_path: Path, session: SaliencySession, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = _pictures(tmp_path / "in")
    runs = _recording_runs(session, monkeypatch)
    # room for one decoded 160x120 picture: nothing waits beside another
    report = process_images(
        session, _plan(paths, tmp_path / "out"), batch=8, memory_limit=160 * 120 * 3
    )
    assert len(report.results) == len(SIZES) and not report.failures
    assert runs == [1] * len(SIZES)


def test_cli_batch_option(
    tmp_path: Path, tiny_models_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    paths = _pictures(tmp_path / "in", corrupt_at=3)
    outputs = {}
    for batch in ("1", "3"):
        out = tmp_path / f"out{batch}"
        with pytest.raises(SystemExit) as exit_info:
            main(
                ["image", *map(str, paths), "-o", str(out), "-q", "very_low", "--batch", batch]
                + ["--models-dir", str(tiny_models_dir), "--device", "cpu", "--no-progress"]
                + ["--backend", "onnxruntime"]
            )
        assert exit_info.value.code == 1
        err = capsys.readouterr().err
        assert "broken.jpg" in err and "1 of 6 input(s) failed" in err
        assert ("batch: up to 3 pictures" in err) == (batch == "3")
        outputs[batch] = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    assert len(outputs["1"]) == len(SIZES)
    assert outputs["1"] == outputs["3"]


def test_openvino_throughput_batches_match_one_at_a_time(
    tmp_path: Path, tiny_models_dir: Path
) -> None:
    pytest.importorskip("openvino")
    session = open_session(
        "very_low", models_dir=tiny_models_dir, backend="openvino", mode="throughput"
    )
    paths = _pictures(tmp_path / "in")
    process_images(session, _plan(paths, tmp_path / "one"))
    process_images(session, _plan(paths, tmp_path / "four"), batch=4)
    for path in paths:
        name = f"{path.stem}_saliency"
        assert np.array_equal(
            np.load(tmp_path / "one" / f"{name}.npy"), np.load(tmp_path / "four" / f"{name}.npy")
        )
