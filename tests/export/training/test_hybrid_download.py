"""``--init vgg16_hybrid`` downloads the original's TF1 checkpoint from Google Drive
(gdown, ``$SALIENCY_CAM_DRIVE_BASE_URL`` override) - here from a local server sending
a zip in the published layout (``vgg16_hybrid.ckpt.data-00000-of-00001`` + ``.index``
at the top, extracted by the original into ``weights/``; variables
``conv1/conv1_1/weights`` / ``biases`` ...). A damaged zip (a member failing its CRC-32,
the only checksum the published file carries) or a dropped connection: one line."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("gdown")

from http_servers import dead_url, fake_drive, serve  # noqa: E402
from saliency_data import make_disc_study  # noqa: E402

from saliency_cam.export.fetchers.drive import DRIVE_BASE_URL_ENV  # noqa: E402
from saliency_cam.export.training.init import VGG_SCOPES, initial_weights  # noqa: E402
from saliency_cam.models.architecture import EXPECTED_SHAPES  # noqa: E402
from saliency_cam.models.errors import SaliencyCamError  # noqa: E402
from saliency_cam.models.registry import VGG16_HYBRID_DRIVE_ID  # noqa: E402
from saliency_cam.realtime.cli.main import main  # noqa: E402


@pytest.fixture(scope="module")
def hybrid(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, dict[str, np.ndarray]]:
    """The published zip's layout with seeded random VGG16 arrays (true shapes), and the
    scope mapping the init must return."""
    rng = np.random.default_rng(0)
    expected: dict[str, np.ndarray] = {}
    folder = tmp_path_factory.mktemp("hybrid")
    graph = tf.Graph()
    with graph.as_default():
        for scope in VGG_SCOPES:
            for ours, theirs in (("kernel", "weights"), ("bias", "biases")):
                value = rng.standard_normal(EXPECTED_SHAPES[f"{scope}/{ours}"]) * 0.01
                expected[f"{scope}/{ours}"] = value.astype(np.float32)
                tf.compat.v1.Variable(expected[f"{scope}/{ours}"], name=f"{scope}/{theirs}")
        saver = tf.compat.v1.train.Saver()
        with tf.compat.v1.Session(graph=graph) as session:
            session.run(tf.compat.v1.global_variables_initializer())
            saver.save(session, str(folder / "vgg16_hybrid.ckpt"), write_meta_graph=False)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for suffix in (".data-00000-of-00001", ".index"):
            name = f"vgg16_hybrid.ckpt{suffix}"
            archive.write(folder / name, name)
    return buffer.getvalue(), expected


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("SALIENCY_CAM_CACHE_DIR", str(cache))
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    return cache


def _damaged(data: bytes) -> bytes:
    """Flip bytes inside the first member's data: the zip opens, its CRC-32 fails."""
    broken = bytearray(data)
    middle = len(broken) // 4
    broken[middle : middle + 64] = bytes(b ^ 0xFF for b in broken[middle : middle + 64])
    return bytes(broken)


def _dropping(app):
    def wrapped(request):
        reply = app(request)
        reply.drop_after = len(reply.body) // 2
        return reply

    return wrapped


def test_download_gives_the_checkpoint_arrays_and_is_reused(
    hybrid, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, expected = hybrid
    with serve(fake_drive({VGG16_HYBRID_DRIVE_ID: data})) as server:
        monkeypatch.setenv(DRIVE_BASE_URL_ENV, server.url)
        start = initial_weights("vgg16_hybrid")
        assert [(r.path, r.query.get("id")) for r in server.log] == [("/uc", VGG16_HYBRID_DRIVE_ID)]
    assert sorted(start.weights) == sorted(expected)
    for name, value in expected.items():
        np.testing.assert_array_equal(start.weights[name], value, err_msg=name)
    assert (cache / "drive" / "vgg16_hybrid.zip").read_bytes() == data
    monkeypatch.setenv(DRIVE_BASE_URL_ENV, dead_url())  # cached: no network needed
    again = initial_weights("vgg16_hybrid")
    np.testing.assert_array_equal(again.weights["conv5/conv5_3/kernel"],
                                  expected["conv5/conv5_3/kernel"])  # fmt: skip


@pytest.mark.parametrize("fault", ["crc", "dropped"])
def test_damaged_or_dropped_download_is_one_line_and_leaves_nothing(
    fault: str, hybrid, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data, expected = hybrid
    if fault == "crc":
        app = fake_drive({VGG16_HYBRID_DRIVE_ID: _damaged(data)})
    else:
        app = _dropping(fake_drive({VGG16_HYBRID_DRIVE_ID: data}))
    with serve(app) as server, pytest.raises(SaliencyCamError) as info:
        monkeypatch.setenv(DRIVE_BASE_URL_ENV, server.url)
        initial_weights("vgg16_hybrid")
    message = str(info.value)
    # what failed on one line, then the offline hint on its own (export/training/init.py)
    first, *rest = message.splitlines()
    assert "vgg16_hybrid" in first and [line.strip()[:8] for line in rest] == ["offline?"]
    assert f"uc?id={VGG16_HYBRID_DRIVE_ID}" in message and "--init-path" in message
    # nothing damaged stays under a name that would be taken for the checkpoint (gdown
    # may keep its own *.part file to resume from)
    left = list((cache / "drive").iterdir()) if (cache / "drive").exists() else []
    assert [p.name for p in left if not p.name.endswith(".part")] == []
    # and the next try, with the server healthy again, gets the right arrays
    with serve(fake_drive({VGG16_HYBRID_DRIVE_ID: data})) as server:
        monkeypatch.setenv(DRIVE_BASE_URL_ENV, server.url)
        start = initial_weights("vgg16_hybrid")
    np.testing.assert_array_equal(
        start.weights["conv1/conv1_1/bias"], expected["conv1/conv1_1/bias"]
    )


def test_train_cli_reports_a_dropped_download_in_one_line(
    hybrid, cache: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    data, _ = hybrid
    root = make_disc_study(tmp_path / "study", 3)
    with serve(_dropping(fake_drive({VGG16_HYBRID_DRIVE_ID: data}))) as server:
        monkeypatch.setenv(DRIVE_BASE_URL_ENV, server.url)
        with pytest.raises(SystemExit) as info:
            main(["train", str(root), "--init", "vgg16_hybrid", "-q", "very_low",
                  "--models-dir", str(tmp_path / "m")])  # fmt: skip
    err = capsys.readouterr().err
    assert info.value.code != 0 and "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "vgg16_hybrid" in errors[0]
