"""The download layer against real HTTP servers on 127.0.0.1 (see http_servers.py).

Nothing here reaches the internet or the user's caches: every test points
SALIENCY_CAM_CACHE_DIR, HF_HOME and the base URLs at temporary folders and local servers.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from http_servers import (
    App,
    Reply,
    Request,
    Server,
    dead_url,
    fake_drive,
    fake_hub,
    make_test_certificate,
    serve,
    static_files,
)

from saliency_cam.export import download as dl
from saliency_cam.export.download import (
    download_file,
    extract_zip_safely,
    fetch_drive_graph,
    fetch_hf_savedmodel,
    fetch_tfjs_model,
)
from saliency_cam.models import registry
from saliency_cam.models.errors import DownloadError, SaliencyCamError, WeightsError

PAYLOAD = np.random.default_rng(0).integers(0, 256, 300_000, dtype=np.uint8).tobytes()
PAYLOAD_SHA = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture(autouse=True)
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Caches in tmp, no proxies, no real endpoints."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SALIENCY_CAM_CACHE_DIR", str(cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    for name in ("HF_ENDPOINT", dl.TFJS_BASE_URL_ENV, dl.DRIVE_BASE_URL_ENV):
        monkeypatch.delenv(name, raising=False)
    return cache


# --------------------------------------------------------------------------- download_file


def test_download_file_writes_verified_file(tmp_path: Path) -> None:
    dest = tmp_path / "w" / "payload.bin"
    with serve(static_files({"/p.bin": PAYLOAD})) as server:
        out = download_file(server.url + "/p.bin", dest, sha256=PAYLOAD_SHA, size=len(PAYLOAD))
        assert out == dest and dest.read_bytes() == PAYLOAD
        assert not dest.with_name("payload.bin.part").exists()
        # Already there with the right sha256: no second request.
        download_file(server.url + "/p.bin", dest, sha256=PAYLOAD_SHA)
        assert [r.method for r in server.log] == ["GET"]


def test_dropped_connection_is_resumed_with_a_range_request(tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    part = tmp_path / "payload.bin.part"
    inner = static_files({"/p.bin": PAYLOAD}, drop_first={"/p.bin"})
    seen: list[tuple[str | None, bool, int]] = []

    def app(request: Request) -> Reply:
        # What was on disk when each request arrived.
        seen.append(
            (
                request.headers.get("range"),
                dest.exists(),
                part.stat().st_size if part.exists() else 0,
            )
        )
        return inner(request)

    with serve(app) as server:
        download_file(server.url + "/p.bin", dest, sha256=PAYLOAD_SHA, backoff=0.01)
    half = len(PAYLOAD) // 2
    assert seen == [(None, False, 0), (f"bytes={half}-", False, half)]
    assert dest.read_bytes() == PAYLOAD
    assert not part.exists()


def test_server_without_range_support_restarts_from_zero(tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    app = static_files({"/p.bin": PAYLOAD}, drop_first={"/p.bin"}, ranges=False)
    with serve(app) as server:
        download_file(server.url + "/p.bin", dest, size=len(PAYLOAD), backoff=0.01)
    assert dest.read_bytes() == PAYLOAD


def test_failed_download_keeps_only_the_part_and_a_later_run_resumes(tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    part = tmp_path / "payload.bin.part"

    def always_drops(request: Request) -> Reply:
        reply = static_files({"/p.bin": PAYLOAD})(request)
        reply.drop_after = min(len(reply.body), 50_000)
        return reply

    with serve(always_drops) as server, pytest.raises(DownloadError) as info:
        download_file(server.url + "/p.bin", dest, retries=1, backoff=0.01)
    assert "after 2 attempts" in str(info.value) and "kept" in str(info.value)
    assert not dest.exists()
    assert part.stat().st_size == 100_000  # two attempts of 50 kB, the second resumed

    with serve(static_files({"/p.bin": PAYLOAD})) as server:
        download_file(server.url + "/p.bin", dest, sha256=PAYLOAD_SHA)
        assert [r.headers.get("range") for r in server.log] == ["bytes=100000-"]
    assert dest.read_bytes() == PAYLOAD


def test_file_changed_upstream_is_fetched_whole_not_spliced(tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"

    def drops(request: Request) -> Reply:
        reply = static_files({"/p.bin": PAYLOAD})(request)
        reply.drop_after = 50_000
        return reply

    with serve(drops) as server, pytest.raises(DownloadError):
        download_file(server.url + "/p.bin", dest, retries=0)
    changed = PAYLOAD[::-1]  # same size, other bytes, other ETag
    with serve(static_files({"/p.bin": changed})) as server:
        download_file(server.url + "/p.bin", dest)
        (request,) = server.log
    assert request.headers["range"] == "bytes=50000-"
    assert request.headers["if-range"] == f'"{PAYLOAD_SHA[:20]}"'
    assert dest.read_bytes() == changed


def test_sha256_mismatch_leaves_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    with serve(static_files({"/p.bin": PAYLOAD})) as server, pytest.raises(DownloadError) as info:
        download_file(server.url + "/p.bin", dest, sha256="0" * 64)
    assert "sha256" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_size_mismatch_leaves_no_file(tmp_path: Path) -> None:
    dest = tmp_path / "payload.bin"
    with serve(static_files({"/p.bin": PAYLOAD})) as server, pytest.raises(DownloadError):
        download_file(server.url + "/p.bin", dest, size=len(PAYLOAD) + 1)
    assert list(tmp_path.iterdir()) == []


def test_http_404_fails_at_once(tmp_path: Path) -> None:
    with serve(static_files({})) as server, pytest.raises(DownloadError, match="404"):
        download_file(server.url + "/missing.bin", tmp_path / "x.bin", retries=3)
    assert len(server.log) == 1
    assert list(tmp_path.iterdir()) == []


def test_unreachable_host_is_a_download_error(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="check your connection") as info:
        download_file(dead_url() + "/p.bin", tmp_path / "x.bin", retries=1, backoff=0.01)
    assert "cannot reach 127.0.0.1" in str(info.value)  # the host, not requests' nested repr
    assert "HTTPConnectionPool" not in str(info.value)
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- TF.js


def tfjs_fixture() -> dict[str, bytes]:
    """A small TF.js graph model: two weight groups, float32/uint8/float16 entries, three
    shards. Content is random; only the layout matters to the downloader."""
    rng = np.random.default_rng(1)
    group1 = [
        {"name": "conv1/conv1_1/kernel", "shape": [3, 3, 3, 8], "dtype": "float32"},
        {
            "name": "conv1/conv1_1/bias",
            "shape": [8],
            "dtype": "float32",
            "quantization": {"dtype": "uint8", "scale": 0.01, "min": -1.0},
        },
    ]
    group2 = [
        {
            "name": "decoder/conv4/kernel",
            "shape": [3, 3, 32, 1],
            "dtype": "float32",
            "quantization": {"dtype": "float16"},
        }
    ]
    blob1 = rng.random(3 * 3 * 3 * 8, dtype=np.float32).tobytes() + bytes(range(8))
    blob2 = rng.random(3 * 3 * 32, dtype=np.float32).astype(np.float16).tobytes()
    manifest = {
        "format": "graph-model",
        "modelTopology": {"node": []},
        "weightsManifest": [
            {"paths": ["group1-shard1of2.bin", "group1-shard2of2.bin"], "weights": group1},
            {"paths": ["group2-shard1of1.bin"], "weights": group2},
        ],
    }
    cut = len(blob1) // 2
    return {
        "/very_low/model.json": json.dumps(manifest).encode(),
        "/very_low/group1-shard1of2.bin": blob1[:cut],
        "/very_low/group1-shard2of2.bin": blob1[cut:],
        "/very_low/group2-shard1of1.bin": blob2,
    }


def test_tfjs_model_set_is_downloaded_stamped_and_reused(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tfjs_fixture()
    with serve(static_files(files)) as server:
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url + "/")
        folder = fetch_tfjs_model("very-low")
    assert folder == isolated_env / "tfjs" / "very_low"
    for url_path, data in files.items():
        assert (folder / url_path.rsplit("/", 1)[1]).read_bytes() == data
    stamp = json.loads((folder / dl.COMPLETE_STAMP).read_text())
    assert (
        stamp["files"]["group2-shard1of1.bin"]
        == hashlib.sha256(files["/very_low/group2-shard1of1.bin"]).hexdigest()
    )
    assert len(stamp["files"]) == 4

    # Complete set: a second call needs no server at all.
    monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, dead_url())
    assert fetch_tfjs_model("very_low") == folder


def test_tfjs_missing_shard_is_a_clear_error_and_not_marked_complete(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tfjs_fixture()
    partial = {k: v for k, v in files.items() if not k.endswith("group2-shard1of1.bin")}
    with serve(static_files(partial)) as server, pytest.raises(DownloadError) as info:
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url)
        fetch_tfjs_model("very_low")
    message = str(info.value)
    assert "group2-shard1of1.bin" in message and "404" in message
    assert "--weights-path" in message and "\n" not in message
    folder = isolated_env / "tfjs" / "very_low"
    assert not (folder / dl.COMPLETE_STAMP).exists()

    # Once the shard is there, only it is fetched; the finished shards are reused.
    with serve(static_files(files)) as server:
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url)
        fetch_tfjs_model("very_low")
        assert [r.path for r in server.log] == ["/very_low/group2-shard1of1.bin"]
    assert (folder / dl.COMPLETE_STAMP).exists()


def test_tfjs_shard_with_wrong_byte_count_is_discarded(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tfjs_fixture()
    files["/very_low/group2-shard1of1.bin"] += b"\0\0"  # longer than the manifest says
    with serve(static_files(files)) as server, pytest.raises(DownloadError, match="bytes"):
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url)
        fetch_tfjs_model("very_low")
    folder = isolated_env / "tfjs" / "very_low"
    assert not (folder / "group2-shard1of1.bin").exists()
    assert not (folder / dl.COMPLETE_STAMP).exists()


def test_tfjs_tampered_cache_file_is_fetched_again(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tfjs_fixture()
    with serve(static_files(files)) as server:
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url)
        folder = fetch_tfjs_model("very_low")
        shard = folder / "group1-shard1of2.bin"
        shard.write_bytes(bytes(len(shard.read_bytes())))  # same size, other bytes
        server.log.clear()
        fetch_tfjs_model("very_low")
        assert [r.path for r in server.log] == ["/very_low/group1-shard1of2.bin"]
    assert shard.read_bytes() == files["/very_low/group1-shard1of2.bin"]


@pytest.mark.parametrize("bad_path", ["../escape.bin", "/etc/passwd", "sub\\..\\x.bin", ""])
def test_tfjs_shard_paths_cannot_escape(
    bad_path: str, isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = tfjs_fixture()
    manifest = json.loads(files["/very_low/model.json"])
    manifest["weightsManifest"][1]["paths"] = [bad_path]
    files["/very_low/model.json"] = json.dumps(manifest).encode()
    with serve(static_files(files)) as server, pytest.raises(DownloadError, match="refusing"):
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url)
        fetch_tfjs_model("very_low")
    assert all("escape" not in p.name for p in isolated_env.rglob("*"))
    assert not (isolated_env / "tfjs" / "very_low" / dl.COMPLETE_STAMP).exists()


def test_tfjs_corrupt_model_json(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = {"/low/model.json": b"{not json"}
    with serve(static_files(files)) as server, pytest.raises(DownloadError, match="model.json"):
        monkeypatch.setenv(dl.TFJS_BASE_URL_ENV, server.url)
        fetch_tfjs_model("low")
    # The bad model.json is not kept, so the next run fetches it again.
    assert not (isolated_env / "tfjs" / "low" / "model.json").exists()


def test_tfjs_unknown_quality_lists_the_valid_ones() -> None:
    with pytest.raises(SaliencyCamError, match="very_low"):
        fetch_tfjs_model("ultra")


# --------------------------------------------------------------------------- Hugging Face

COMMIT = registry.HF_REVISION
HF_FILES = {
    "saved_model.pb": b"fake saved model " * 4000,
    "variables/variables.index": b"index",
    "variables/variables.data-00000-of-00001": b"data" * 100,
    "fingerprint.pb": b"fp",
    "example.jpg": b"\xff\xd8 not needed",
    "README.md": b"# card",
}


def hub(**kwargs: object) -> object:
    return fake_hub(registry.HF_REPO_ID, COMMIT, HF_FILES, lfs={"saved_model.pb"}, **kwargs)


def test_hf_snapshot_fetches_only_the_saved_model(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(hub()) as server:
        # Set after import: the endpoint must be read at call time.
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        folder = fetch_hf_savedmodel()
        fetched = {r.path.split("/resolve/")[1] for r in server.log if "/resolve/" in r.path}
    assert folder.is_relative_to(isolated_env / "hf")
    assert (folder / "saved_model.pb").read_bytes() == HF_FILES["saved_model.pb"]
    assert (folder / "variables" / "variables.index").read_bytes() == b"index"
    assert not (folder / "example.jpg").exists() and not (folder / "README.md").exists()
    assert fetched == {
        f"{COMMIT}/{p}" for p in HF_FILES if p.endswith(".pb") or p.startswith("variables/")
    }

    # Cached snapshot at the pinned commit: no network needed any more.
    monkeypatch.setenv("HF_ENDPOINT", dead_url())
    assert fetch_hf_savedmodel() == folder


def test_hf_branch_name_resolves_through_the_revision_api(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(hub()) as server:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        folder = fetch_hf_savedmodel("main")
    assert folder.name == COMMIT
    assert any(r.path.endswith("/revision/main") for r in server.log)


def test_hf_unknown_revision_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(hub()) as server, pytest.raises(DownloadError) as info:
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        fetch_hf_savedmodel("f" * 40)
    message = str(info.value)
    assert "revision does not exist" in message and "--weights-path" in message
    assert "\n" not in message


def test_hf_unknown_repository_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    other = fake_hub("someone/else", COMMIT, HF_FILES)
    with serve(other) as server, pytest.raises(DownloadError, match="--weights-path"):
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        fetch_hf_savedmodel()


def test_hf_file_not_matching_the_listed_sha256_is_rejected(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lying = hub(lfs_sha256={"saved_model.pb": "0" * 64})
    with serve(lying) as server, pytest.raises(DownloadError, match="saved_model.pb"):
        monkeypatch.setenv("HF_ENDPOINT", server.url)
        fetch_hf_savedmodel()
    assert not list((isolated_env / "hf").rglob("saved_model.pb"))


# --------------------------------------------------------------------------- Google Drive


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


SALICON_CPU = registry.DATASET_PRESETS["salicon"].drive["cpu"]
SALICON_ZIP = zip_bytes({f"weights/{SALICON_CPU.member}": b"graph bytes" * 1000})


def test_drive_zip_is_downloaded_with_gdown_and_reused(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with serve(fake_drive({SALICON_CPU.file_id: SALICON_ZIP})) as server:
        monkeypatch.setenv(dl.DRIVE_BASE_URL_ENV, server.url)
        path = fetch_drive_graph("salicon")
        assert [(r.path, r.query) for r in server.log] == [("/uc", {"id": SALICON_CPU.file_id})]
    assert path == isolated_env / "drive" / "model_salicon_cpu.zip"
    assert path.read_bytes() == SALICON_ZIP
    monkeypatch.setenv(dl.DRIVE_BASE_URL_ENV, dead_url())
    assert fetch_drive_graph("salicon", "cpu") == path


def test_drive_refusal_page_is_explained(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = fake_drive({}, refused={SALICON_CPU.file_id})
    with serve(app) as server, pytest.raises(DownloadError) as info:
        monkeypatch.setenv(dl.DRIVE_BASE_URL_ENV, server.url)
        fetch_drive_graph("salicon")
    message = str(info.value)
    assert "refused" in message and "--weights-path" in message
    assert f"uc?id={SALICON_CPU.file_id}" in message
    assert list((isolated_env / "drive").iterdir()) == []


def test_drive_zip_without_the_graph_is_rejected(
    isolated_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = zip_bytes({"readme.txt": b"hello"})
    with (
        serve(fake_drive({SALICON_CPU.file_id: wrong})) as server,
        pytest.raises(DownloadError, match=SALICON_CPU.member),
    ):
        monkeypatch.setenv(dl.DRIVE_BASE_URL_ENV, server.url)
        fetch_drive_graph("salicon")
    assert list((isolated_env / "drive").iterdir()) == []


def test_drive_unknown_device() -> None:
    with pytest.raises(SaliencyCamError, match="cpu, gpu"):
        fetch_drive_graph("salicon", "tpu")


# --------------------------------------------------------------------------- zips


def test_extract_zip_safely_extracts(tmp_path: Path) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"model.pb": b"pb", "sub/readme.txt": b"r"}))
    out = extract_zip_safely(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in out) == [
        "model.pb",
        "sub/readme.txt",
    ]
    assert (tmp_path / "out" / "model.pb").read_bytes() == b"pb"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["model.pb", "sub"]


@pytest.mark.parametrize(
    "evil", ["../evil.pb", "sub/../../evil.pb", "/tmp/evil.pb", "C:/evil.pb", "..\\evil.pb"]
)
def test_extract_zip_refuses_escaping_entries(tmp_path: Path, evil: str) -> None:
    archive = tmp_path / "a.zip"
    archive.write_bytes(zip_bytes({"model.pb": b"ok", evil: b"evil"}))
    with pytest.raises(WeightsError, match="refusing"):
        extract_zip_safely(archive, tmp_path / "out" / "inner")
    assert not list(tmp_path.rglob("evil.pb"))
    assert not (tmp_path / "out" / "inner" / "model.pb").exists()


def test_extract_zip_refuses_symlinks(tmp_path: Path) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        link = zipfile.ZipInfo("model.pb")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc/passwd")
    (tmp_path / "a.zip").write_bytes(buffer.getvalue())
    with pytest.raises(WeightsError, match="symbolic link"):
        extract_zip_safely(tmp_path / "a.zip", tmp_path / "out")
    assert not (tmp_path / "out" / "model.pb").exists()


def test_corrupt_zip_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 this is not really a zip")
    with pytest.raises(WeightsError, match="not a readable zip"):
        extract_zip_safely(tmp_path / "bad.zip", tmp_path / "out")


def test_damaged_member_leaves_no_half_files(tmp_path: Path) -> None:
    data = bytearray(zip_bytes({"a.txt": b"a" * 1000, "b.pb": os.urandom(20_000)}))
    start = data.index(b"b.pb") + 4 + 100  # inside b.pb's compressed data
    data[start : start + 50] = bytes(50)
    (tmp_path / "d.zip").write_bytes(bytes(data))
    with pytest.raises(WeightsError, match="damaged"):
        extract_zip_safely(tmp_path / "d.zip", tmp_path / "out")
    assert list((tmp_path / "out").iterdir()) == []


# The default base URL (https://drive.google.com) exercises gdown's own Drive handling:
# its confirmation-page parsing and its "Cannot retrieve the public link" error. The
# fake Drive sits behind an HTTPS proxy on 127.0.0.1 whose throw-away certificate only
# this test trusts.
DRIVE_HOSTS = ["drive.google.com", "drive.usercontent.google.com"]


@pytest.fixture
def drive_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Callable[[App], contextlib.AbstractContextManager[Server]]:
    """``with drive_proxy(app) as server:`` routes HTTPS through ``app`` for the block."""
    certificate = make_test_certificate(tmp_path, DRIVE_HOSTS)
    if certificate is None:
        pytest.skip("needs the openssl command to make a test certificate")

    @contextlib.contextmanager
    def start(app: App) -> Iterator[Server]:
        with serve(app, certificate=certificate) as server:
            monkeypatch.setenv("HTTPS_PROXY", server.url)
            monkeypatch.setenv("https_proxy", server.url)
            monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(certificate))
            yield server

    return start


def test_gdown_follows_drive_confirmation_page(isolated_env: Path, drive_proxy) -> None:
    app = fake_drive(
        {SALICON_CPU.file_id: SALICON_ZIP},
        confirm_action="https://drive.usercontent.google.com/download",
    )
    with drive_proxy(app) as server:
        path = fetch_drive_graph("salicon", "cpu")
    assert path.read_bytes() == SALICON_ZIP
    tunnels = [r.path for r in server.log if r.method == "CONNECT"]
    assert tunnels[0] == "drive.google.com:443"
    assert "drive.usercontent.google.com:443" in tunnels
    assert any(r.path == "/download" and r.query.get("confirm") == "t" for r in server.log)


def test_gdown_cannot_retrieve_public_link_is_explained(isolated_env: Path, drive_proxy) -> None:
    with (
        drive_proxy(fake_drive({}, refused={SALICON_CPU.file_id})),
        pytest.raises(DownloadError) as info,
    ):
        fetch_drive_graph("salicon", "cpu")
    message = str(info.value)
    assert "public link" in message and "--weights-path" in message and "\n" not in message
    assert list((isolated_env / "drive").iterdir()) == []
