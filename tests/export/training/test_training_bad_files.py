"""A training run on data with a few unreadable files (skipped, each named, counted at
the end; the run stops only past --max-bad), and the offline hint of a start-weights
download that fails (it names --init random). TensorFlow, very_low, a handful of steps."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

tf = pytest.importorskip("tensorflow")

from http_servers import dead_url  # noqa: E402
from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.training.datasets.folder import (  # noqa: E402
    DataError,
    read_folder,
)
from saliency_cam.export.training.trainer import TrainConfig, fit  # noqa: E402
from saliency_cam.realtime.cli.main import main  # noqa: E402

VERY_LOW = (48, 64)


def _truncate(path: Path) -> None:
    """Keep the first third: the PNG header still reads (sizes known), the pixels do not
    decode (a download cut short)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def test_unreadable_files_up_front_are_skipped_named_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two files whose header cannot be read: the run goes on without them (was:
    'nothing was trained'), each is named in a warning, and the count comes at the end."""
    root = make_disc_study(tmp_path / "data", 6, seed=4)
    (root / "stimuli" / "img_001.png").write_bytes(b"broken")
    (root / "stimuli" / "img_004.png").write_bytes(b"")
    data = read_folder(root)
    assert [s.key for s in data.samples] == ["img_000", "img_002", "img_003", "img_005"]
    assert set(data.bad.files) == {root / "stimuli" / n for n in ("img_001.png", "img_004.png")}

    main(["train", str(root), "--init", "random", "-q", "very_low", "--batch-size", "2",
          "--max-steps", "1", "--val-split", "0.25", "--run-dir", str(tmp_path / "run"),
          "--models-dir", str(tmp_path / "m")])  # fmt: skip
    err = capsys.readouterr().err
    assert "warning: skipped: cannot read" in err and "img_001.png" in err and "img_004.png" in err
    assert "skipped 2 unreadable file(s)" in err and "--max-bad 10" in err
    assert "trained 1 steps" in err


def test_more_unreadable_files_than_max_bad_stop_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = make_disc_study(tmp_path / "data", 4, seed=4)
    (root / "stimuli" / "img_001.png").write_bytes(b"broken")
    (root / "stimuli" / "img_002.png").write_bytes(b"broken")
    with pytest.raises(DataError, match=r"more than --max-bad 1 unreadable"):
        read_folder(root, max_bad=1)
    with pytest.raises(SystemExit) as info:
        main(["train", str(root), "--init", "random", "--max-bad", "1",
              "--models-dir", str(tmp_path / "m")])  # fmt: skip
    err = capsys.readouterr().err
    assert info.value.code == 2 and "Traceback" not in err
    assert "nothing was trained" in err and "img_001.png" in err and "img_002.png" in err
    assert not (tmp_path / "m").exists()


def test_a_file_that_fails_to_decode_mid_run_is_skipped_and_keeps_the_step_count(
    tmp_path: Path,
) -> None:
    """A stimulus whose header reads but whose pixels do not: the epoch goes on (was: a
    TensorFlow traceback ending the run), its place goes to another image so every
    epoch keeps its batches, and it is named once although two epochs meet it."""
    root = make_disc_study(tmp_path / "data", 6, seed=5)
    _truncate(root / "stimuli" / "img_001.png")
    data = read_folder(root)
    assert len(data.samples) == 6 and not data.bad  # the header check cannot tell
    warnings: list[str] = []
    data.bad.warn = warnings.append
    config = TrainConfig(size=VERY_LOW, epochs=2, batch_size=2, sigma=4.0, lr=1e-4)
    result = fit(data, ([0, 1, 2, 3], [4, 5]), config, tmp_path / "run")
    assert result.steps == 4 and result.epochs_done == 2
    assert all(math.isfinite(row["val_loss"]) for row in result.history)
    assert list(data.bad.files) == [root / "stimuli" / "img_001.png"]
    assert len(warnings) == 1 and "img_001.png" in warnings[0]


def test_past_max_bad_mid_run_the_state_is_saved_and_the_line_names_the_file(
    tmp_path: Path,
) -> None:
    root = make_disc_study(tmp_path / "data", 6, seed=5)
    _truncate(root / "stimuli" / "img_001.png")
    data = read_folder(root, max_bad=0)
    config = TrainConfig(size=VERY_LOW, epochs=1, batch_size=2, sigma=4.0)
    with pytest.raises(DataError, match=r"training stopped at step \d \(resumable\)") as info:
        fit(data, ([0, 1, 2, 3], [4, 5]), config, tmp_path / "run")
    assert "img_001.png" in str(info.value) and "--max-bad 0" in str(info.value)
    assert (tmp_path / "run" / "state.json").is_file()


@pytest.mark.parametrize("init", ["salicon", "vgg16_hybrid", "vgg16"])
def test_a_failed_start_weights_download_points_to_init_random(
    init: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Offline (nothing listens at the download addresses), each downloading --init
    says what works without a network: --init random, or --init-path (never export's
    --weights-path)."""
    from saliency_cam.export.fetchers.drive import DRIVE_BASE_URL_ENV

    monkeypatch.setenv("SALIENCY_CAM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(DRIVE_BASE_URL_ENV, dead_url())
    if init == "vgg16":  # Keras' own download: its cache and its address, redirected
        from keras.src.applications import vgg16
        from keras.src.backend import config as keras_config

        monkeypatch.setattr(keras_config, "_KERAS_DIR", str(tmp_path / "keras"))
        monkeypatch.setattr(vgg16, "WEIGHTS_PATH_NO_TOP", dead_url() + "/vgg16_notop.h5")
    root = make_disc_study(tmp_path / "data", 3)
    with pytest.raises(SystemExit) as info:
        main(["train", str(root), "--init", init, "-q", "very_low",
              "--models-dir", str(tmp_path / "m")])  # fmt: skip
    err = capsys.readouterr().err
    assert info.value.code != 0 and "Traceback" not in err
    assert "--init random" in err and "--init-path" in err and "--weights-path" not in err
    lines = err.strip().splitlines()
    assert lines[0].startswith("error:") and lines[-1].strip().startswith("offline?")
